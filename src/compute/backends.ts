/**
 * TF.js backends: which ones this browser can run, a quick measurement of each on a
 * representative convolution, and the choice of the fastest (or the user's override).
 * Names are not a ranking: on machines without a GPU, WASM beats a software WebGL/WebGPU.
 */
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendChoice {
  /** The backend now active in TF.js. */
  name: BackendName;
  /** Median ms of the measurement convolution per backend; null where it could not run. */
  timingsMs: Partial<Record<BackendName, number | null>>;
  /** Adapter details where the browser gives them (WebGPU vendor/architecture, WebGL renderer). */
  adapter: string | null;
  /** Why this one: "fastest measured", "chosen by the user", "only one available". */
  reason: string;
}

export interface BackendOptions {
  /** Use this backend if it initialises, without measuring the others. */
  override?: BackendName | null;
  /** URLs of the WASM binaries (the app's build emits them as assets). */
  wasmPaths?: Record<string, string>;
  /** Repetitions per backend, after one warm-up run. Default 3. */
  repetitions?: number;
}

/** Registers the optional backends (the WebGPU package is large: loaded only when tried). */
async function register(name: BackendName, options: BackendOptions): Promise<void> {
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (options.wasmPaths) wasm.setWasmPaths(options.wasmPaths);
  } else if (name === 'webgpu') {
    // Without an adapter TF.js would log a failed initialisation: ask first.
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu || !(await gpu.requestAdapter())) throw new Error('no WebGPU adapter');
    await import('@tensorflow/tfjs-backend-webgpu');
  }
}

/** Makes `name` the active backend; false when it cannot start here. */
export async function activateBackend(name: BackendName, options: BackendOptions = {}): Promise<boolean> {
  try {
    await register(name, options);
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/** Candidates worth trying in this environment (feature checks only; `activateBackend` decides). */
export function candidateBackends(): BackendName[] {
  const candidates: BackendName[] = [];
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  if (nav && 'gpu' in nav) candidates.push('webgpu');
  if (typeof (globalThis as { document?: unknown }).document !== 'undefined') candidates.push('webgl');
  if (typeof WebAssembly === 'object') candidates.push('wasm');
  candidates.push('cpu');
  return candidates;
}

/**
 * Times the active backend on a 3×3 convolution of the kind early CNN layers do
 * ([1,28,28,32] × [3,3,32,32], 'same'), reading the result with `await data()` (WebGPU's
 * `dataSync()` is not reliable on every adapter).
 */
export async function timeConvolution(repetitions = 3): Promise<number> {
  const x = tf.randomUniform<tf.Rank.R4>([1, 28, 28, 32]);
  const w = tf.randomUniform<tf.Rank.R4>([3, 3, 32, 32]);
  const run = async () => {
    const y = tf.conv2d(x, w, 1, 'same');
    await y.data();
    y.dispose();
  };
  try {
    await run(); // warm-up: shader compilation, WASM start-up
    const times: number[] = [];
    for (let i = 0; i < repetitions; i++) {
      const t0 = performance.now();
      await run();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[times.length >> 1] as number;
  } finally {
    x.dispose();
    w.dispose();
  }
}

async function describeAdapter(name: BackendName): Promise<string | null> {
  try {
    if (name === 'webgpu') {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
      const info = (await gpu?.requestAdapter())?.info;
      return info ? [info['vendor'], info['architecture'], info['description']].filter(Boolean).join(' ') || null : null;
    }
    if (name === 'webgl') {
      const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
      const ext = gl?.getExtension('WEBGL_debug_renderer_info');
      return gl && ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : null;
    }
  } catch {
    // details are optional
  }
  return null;
}

/**
 * Whether `name` computes in float32 here. TF.js's WebGL backend falls back to half-float textures
 * on GPUs that cannot render to float32 (older phones): its results differ from the owner's by
 * about 1e-3 relative, which breaks the exactness every scheme promises and would make the owner's
 * result checks take an honest phone for a liar. Such a backend is never chosen by measurement
 * (a user's override still stands). Read after `name` is active: WebGL sets the flag on start.
 */
export function computesInFloat32(name: BackendName): boolean {
  return name !== 'webgl' || tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
}

/** Chooses and activates a backend: the user's override if it starts, else the fastest measured. */
export async function chooseBackend(options: BackendOptions = {}, candidates = candidateBackends()): Promise<BackendChoice> {
  if (options.override && (await activateBackend(options.override, options))) {
    return { name: options.override, timingsMs: {}, adapter: await describeAdapter(options.override), reason: 'chosen by the user' };
  }
  const timingsMs: Partial<Record<BackendName, number | null>> = {};
  for (const name of candidates) {
    const usable = (await activateBackend(name, options)) && computesInFloat32(name);
    timingsMs[name] = usable ? await timeConvolution(options.repetitions ?? 3).catch(() => null) : null;
  }
  const measured = candidates.filter((n) => typeof timingsMs[n] === 'number');
  if (measured.length === 0) throw new Error('modnn-web: no TF.js backend could run a convolution in this browser');
  const best = measured.reduce((a, b) => ((timingsMs[a] as number) <= (timingsMs[b] as number) ? a : b));
  await activateBackend(best, options);
  const reason = measured.length === 1 ? 'the only backend that runs here' : `fastest measured (${(timingsMs[best] as number).toFixed(1)} ms per test convolution)`;
  return { name: best, timingsMs, adapter: await describeAdapter(best), reason };
}
