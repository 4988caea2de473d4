/**
 * Training-only kernel replacements for the WASM backend in Node, found by measurement
 * (bench/results/train-fashion.md): its BatchMatMul is fast only without transposes (XNNPACK's
 * fully-connected path) and is ~13× slower with transposeA/transposeB, which every Dense gradient
 * uses; its Conv2DBackpropInput is a plain loop, while its forward Conv2D is XNNPACK. Both are
 * rewritten here in terms of the fast kernels. The conv filter gradient is in src/compute.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { replaceKernel, runBackendKernel, withTemporaries, type ConvGradAttrs } from '../../src/compute/index.ts';

/** Replaces a kernel the backend has, handing it the stock one (these only speed up existing kernels). */
function replaceExisting(kernelName: string, backendName: string, make: (stock: KernelConfig) => KernelFunc): () => void {
  return replaceKernel(kernelName, backendName, (stock) => {
    if (!stock) throw new Error(`${backendName} has no ${kernelName} kernel to replace`);
    return make(stock);
  });
}

/** BatchMatMul that transposes its operands explicitly, so the backend only sees A·B. */
export function useUntransposedMatMul(backendName: string): () => void {
  return replaceExisting('BatchMatMul', backendName, (stock) => ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return stock.kernelFunc({ inputs, backend, attrs });
    return withTemporaries(backend, (keep) => {
      const swapLast = (t: TensorInfo): TensorInfo => {
        const perm = t.shape.map((_, i) => i);
        const n = perm.length;
        [perm[n - 2], perm[n - 1]] = [n - 1, n - 2];
        return keep(runBackendKernel(backend, backendName, 'Transpose', { x: t }, { perm }));
      };
      return stock.kernelFunc({
        inputs: { a: transposeA ? swapLast(a) : a, b: transposeB ? swapLast(b) : b },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    });
  });
}

interface InputGradAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/**
 * Conv2DBackpropInput for stride 1 as a forward convolution of dy with the filter flipped in
 * space and with its channel axes swapped; padding kh−1−top above and kh−1−bottom below (and
 * likewise for columns). Other strides go to the stock kernel.
 */
export function useConvInputGradViaConv(backendName: string): () => void {
  return replaceExisting('Conv2DBackpropInput', backendName, (stock) => ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as InputGradAttrs;
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode);
    if (a.dataFormat === 'NCHW' || info.strideHeight !== 1 || info.strideWidth !== 1) {
      return stock.kernelFunc({ inputs, backend, attrs });
    }
    const { top, bottom, left, right } = info.padInfo;
    const kh = info.filterHeight;
    const kw = info.filterWidth;
    return withTemporaries(backend, (keep) => {
      const flipped = keep(runBackendKernel(backend, backendName, 'Reverse', { x: filter }, { dims: [0, 1] }));
      const swapped = keep(runBackendKernel(backend, backendName, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }));
      return runBackendKernel(backend, backendName, 'Conv2D', { x: dy, filter: swapped }, {
        strides: [1, 1],
        pad: [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      });
    });
  });
}
