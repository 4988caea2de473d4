import type * as tfjs from '@tensorflow/tfjs';

/**
 * The TF.js namespace, passed in rather than imported: the model layer then loads no TF.js at run
 * time (the planner can import it freely) and callers choose the backend (cpu in Node tests).
 */
export type TfModule = typeof tfjs;
export type Tensor = tfjs.Tensor;
export type Tensor3D = tfjs.Tensor3D;
export type LayersModel = tfjs.LayersModel;
