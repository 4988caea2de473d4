/**
 * Putting a faster kernel in place of a TF.js backend's own (for training in Node), and the
 * plumbing such kernels share: running another registered kernel directly, and freeing the
 * temporaries they make.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

/** The attributes TF.js gives both convolution gradient kernels. */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Runs one of the backend's registered kernels directly (no tape, no engine bookkeeping). The
 * caller owns the result and disposes it with `backend.disposeData`.
 */
export function runBackendKernel(backend: object, backendName: string, name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const kernel = tf.getKernel(name, backendName);
  if (!kernel) throw new Error(`kernel replacement: backend ${backendName} has no ${name} kernel`);
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`kernel replacement: ${name} returned several outputs`);
  return out;
}

/** Runs `body` with a list of temporaries that are disposed afterwards, whatever happens. */
export function withTemporaries<T>(backend: object, body: (keep: (t: TensorInfo) => TensorInfo) => T): T {
  const temporaries: TensorInfo[] = [];
  try {
    return body((t) => {
      temporaries.push(t);
      return t;
    });
  } finally {
    // Kernels receive their backend typed as `{}`; it is the backend the kernel was registered for.
    for (const t of temporaries) (backend as tf.KernelBackend).disposeData(t.dataId);
  }
}

/**
 * Registers `make(stock)` as `kernelName` on `backendName`, handing it the backend's own kernel
 * (undefined where the backend has none, as WASM has no filter gradient). Returns a function that
 * puts the previous state back, so benchmarks and tests can compare both.
 */
export function replaceKernel(kernelName: string, backendName: string, make: (stock: KernelConfig | undefined) => KernelFunc): () => void {
  const stock = tf.getKernel(kernelName, backendName);
  if (stock) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc: make(stock) });
  return () => {
    tf.unregisterKernel(kernelName, backendName);
    if (stock) tf.registerKernel(stock);
  };
}
