/** compute/: TF.js backends (choice by measurement) and capability profiling. Knows nothing of peers. */
export { BACKEND_NAMES, activateBackend, candidateBackends, chooseBackend, timeConvolution } from './backends.ts';
export type { BackendChoice, BackendName, BackendOptions } from './backends.ts';
export { fitLinear, profileCompute } from './profile.ts';
export type { ComputeProfile, ProfileOptions, ProfileSample } from './profile.ts';
export { centreCrop, preprocessImage } from './preprocess.ts';
export type { PreprocessOptions, Preprocessed, RgbaImage } from './preprocess.ts';
export { convFilterGradViaConv, useConvFilterGradViaConv } from './conv-filter-grad.ts';
export { replaceKernel, runBackendKernel, withTemporaries } from './kernel-replacement.ts';
export type { ConvGradAttrs } from './kernel-replacement.ts';
export { yieldToEventLoop } from './yield.ts';
