/**
 * The runtime: runs a plan over the mesh (owner scheduler) and the tasks a worker is sent
 * (worker executor). Joins mesh/, model/, partition/ and compute/.
 */

// The reference: a plan run slice by slice on one device
export { executePlan, executeWhole, runTileSlice } from './local-executor.ts';
export type { ExecuteOptions } from './local-executor.ts';
