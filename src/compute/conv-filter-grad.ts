/**
 * A faster Conv2DBackpropFilter (the gradient of a convolution with respect to its filter) for
 * training in Node. TF.js's CPU kernel walks seven nested loops through `TensorBuffer.get`, which
 * makes the filter gradient the bulk of a training step; the WASM backend has no such kernel.
 *
 * The filter gradient is itself a convolution once batch and channels trade places:
 *   dW[kh, kw, ci, co] = Σ_b Σ_y Σ_x  xPadded[b, y·s + kh, x·s + kw, ci] · dy[b, y, x, co]
 * Read `ci` as the batch, `b` as the input channel, and dy (laid out as [y, x, b, co]) as a filter
 * dilated by the forward stride: that is a plain forward Conv2D of transpose(x) with transpose(dy),
 * whose output [ci, kh, kw, co] is transposed back to [kh, kw, ci, co]. The backend's own Conv2D
 * (a tight loop on CPU, XNNPACK on WASM) then does the arithmetic.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { replaceKernel, runBackendKernel, withTemporaries, type ConvGradAttrs } from './kernel-replacement.ts';

interface FilterGradAttrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/** The filter gradient as a forward convolution on the backend `backendName`. */
export function convFilterGradViaConv(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as FilterGradAttrs;
    if (dataFormat === 'NCHW') throw new Error('conv filter gradient: only NHWC (channels last) is supported');
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
    const { top, bottom, left, right } = info.padInfo;
    return withTemporaries(backend, (keep) => {
      // [b, h, w, ci] → [ci, h, w, b]: the input channels become the batch.
      const xT = keep(runBackendKernel(backend, backendName, 'Transpose', { x }, { perm: [3, 1, 2, 0] }));
      // [b, y, x, co] → [y, x, b, co]: dy becomes a filter over the (former) batch channels.
      const dyT = keep(runBackendKernel(backend, backendName, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }));
      // Forward stride becomes the filter's dilation; the forward padding stays as it was.
      const grad = keep(runBackendKernel(backend, backendName, 'Conv2D', { x: xT, filter: dyT }, {
        strides: [1, 1],
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
        dataFormat: 'NHWC',
        dilations: [info.strideHeight, info.strideWidth],
      }));
      // With 'floor' rounding the last input rows/columns may reach past the filter: drop them.
      let exact = grad;
      const [, gh, gw] = grad.shape as [number, number, number, number];
      if (gh !== info.filterHeight || gw !== info.filterWidth) {
        exact = keep(runBackendKernel(backend, backendName, 'Slice', { x: grad }, {
          begin: [0, 0, 0, 0],
          size: [info.inChannels, info.filterHeight, info.filterWidth, info.outChannels],
        }));
      }
      // [ci, kh, kw, co] → [kh, kw, ci, co]: the filter layout TF.js expects.
      return runBackendKernel(backend, backendName, 'Transpose', { x: exact }, { perm: [1, 2, 0, 3] });
    });
  };
}

/**
 * Replaces the backend's Conv2DBackpropFilter with `convFilterGradViaConv`. Returns a function
 * that puts the previous kernel (or none) back, so benchmarks and tests can compare both.
 */
export function useConvFilterGradViaConv(backendName: string): () => void {
  return replaceKernel('Conv2DBackpropFilter', backendName, () => convFilterGradViaConv(backendName));
}
