export { startOwnerPage } from './owner-page.ts';
export { startWorkerPage } from './worker-page.ts';
