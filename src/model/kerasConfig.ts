import type { Activation, ActivationKind, Padding2d } from './graph.ts';
import type { PaddingMode } from './windowGeometry.ts';
import { ModelError } from './errors.ts';

/** A Keras layer config object as found in model.json (snake_case keys). */
export type KerasConfig = Readonly<Record<string, unknown>>;

function fail(layer: string, key: string, value: unknown, expected: string): never {
  throw new ModelError('ERR_MODEL_TOPOLOGY',
    `lowerModel: layer '${layer}' has ${key}=${JSON.stringify(value)}, expected ${expected}`);
}

/** A number, or `fallback` when the key is absent or null. */
export function configNumber(config: KerasConfig, layer: string, key: string, fallback?: number): number {
  const value = config[key];
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(layer, key, value, 'a number');
  return value;
}

export function configBoolean(config: KerasConfig, layer: string, key: string, fallback: boolean): boolean {
  const value = config[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') return fail(layer, key, value, 'a boolean');
  return value;
}

/** Keras accepts `3` or `[3, 3]` for 2-D sizes. */
export function configPair(
  config: KerasConfig,
  layer: string,
  key: string,
  fallback?: readonly [number, number],
): [number, number] {
  const value = config[key];
  if ((value === undefined || value === null) && fallback !== undefined) return [fallback[0], fallback[1]];
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
    return [value[0] as number, value[1] as number];
  }
  return fail(layer, key, value, 'a number or a pair of numbers');
}

export function configPaddingMode(config: KerasConfig, layer: string): PaddingMode {
  const value = config['padding'] ?? 'valid';
  if (value === 'same' || value === 'valid') return value;
  return fail(layer, 'padding', value, "'same' or 'valid'");
}

/** ZeroPadding2D's `padding`: n, [h, w] or [[top, bottom], [left, right]]. */
export function configZeroPadding(config: KerasConfig, layer: string): Padding2d {
  const value = config['padding'] ?? 1;
  if (typeof value === 'number') return { top: value, bottom: value, left: value, right: value };
  if (Array.isArray(value) && value.length === 2) {
    const [rows, cols] = value as unknown[];
    if (typeof rows === 'number' && typeof cols === 'number') {
      return { top: rows, bottom: rows, left: cols, right: cols };
    }
    if (isNumberPair(rows) && isNumberPair(cols)) {
      return { top: rows[0], bottom: rows[1], left: cols[0], right: cols[1] };
    }
  }
  return fail(layer, 'padding', value, 'n, [h, w] or [[top, bottom], [left, right]]');
}

function isNumberPair(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number');
}

const activationNames: Readonly<Record<string, ActivationKind>> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softmax: 'softmax',
  swish: 'swish',
  silu: 'swish',
};

/** Parses a Keras activation name; `undefined` for names this project does not implement. */
export function parseActivation(value: unknown): Activation | undefined {
  const name = value === undefined || value === null ? 'linear' : value;
  if (typeof name !== 'string') return undefined;
  const kind = activationNames[name];
  return kind === undefined ? undefined : { kind, alpha: 0 };
}

export function requireChannelsLast(config: KerasConfig, layer: string): void {
  const format = config['data_format'];
  if (format !== undefined && format !== null && format !== 'channels_last') {
    fail(layer, 'data_format', format, "'channels_last'");
  }
}
