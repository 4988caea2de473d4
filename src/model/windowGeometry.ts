import type { Padding2d, PaddingFill, Window2d } from './graph.ts';
import { modelAssert } from './errors.ts';

/** Keras padding modes for window layers. */
export type PaddingMode = 'same' | 'valid';

/** Effective extent of a dilated kernel, in input elements: d·(k − 1) + 1. */
export function effectiveKernel(kernel: number, dilation: number): number {
  return dilation * (kernel - 1) + 1;
}

/**
 * Output length of a window op along one axis given explicit padding:
 * floor((in + before + after − effK) / s) + 1.
 */
export function windowOutputSize(
  inputSize: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBefore: number,
  padAfter: number,
): number {
  const span = inputSize + padBefore + padAfter - effectiveKernel(kernel, dilation);
  modelAssert(span >= 0, 'ERR_MODEL_SHAPE', () =>
    `windowOutputSize: input ${inputSize} + padding ${padBefore}+${padAfter} is smaller than the kernel extent ${effectiveKernel(kernel, dilation)}`);
  return Math.floor(span / stride) + 1;
}

/**
 * Resolves Keras/TF 'same' or 'valid' padding into explicit [before, after] amounts along one axis.
 * 'same' gives ceil(in / s) outputs with total padding max((out − 1)·s + effK − in, 0), the odd
 * element going after (TF's convention), so resolved numbers reproduce TF exactly.
 */
export function resolvePadding1d(
  mode: PaddingMode,
  inputSize: number,
  kernel: number,
  stride: number,
  dilation: number,
): [number, number] {
  if (mode === 'valid') return [0, 0];
  const outputSize = Math.ceil(inputSize / stride);
  const total = Math.max((outputSize - 1) * stride + effectiveKernel(kernel, dilation) - inputSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Builds a fully resolved window for an [H, W] input. */
export function resolveWindow(
  mode: PaddingMode,
  inputHw: readonly [number, number],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilation: readonly [number, number],
  paddingFill: PaddingFill,
): Window2d {
  const [top, bottom] = resolvePadding1d(mode, inputHw[0], kernel[0], strides[0], dilation[0]);
  const [left, right] = resolvePadding1d(mode, inputHw[1], kernel[1], strides[1], dilation[1]);
  const padding: Padding2d = { top, bottom, left, right };
  return { kernel, strides, dilation, padding, paddingFill };
}

/** [outH, outW] of a resolved window over an [H, W] input. */
export function windowOutputHw(window: Window2d, inputHw: readonly [number, number]): [number, number] {
  const { kernel, strides, dilation, padding } = window;
  return [
    windowOutputSize(inputHw[0], kernel[0], strides[0], dilation[0], padding.top, padding.bottom),
    windowOutputSize(inputHw[1], kernel[1], strides[1], dilation[1], padding.left, padding.right),
  ];
}
