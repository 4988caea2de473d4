/**
 * Starting TF.js in a page: the WASM binaries as build assets (served and, later, precached), and
 * the backend chosen by measurement unless the page names one (`?backend=wasm`).
 */
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { chooseBackend, type BackendChoice, type BackendName } from '../compute/index.ts';

export const wasmPaths = {
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
};

let choice: Promise<BackendChoice> | null = null;

/** Chooses the backend once per page. */
export function startCompute(override: BackendName | null): Promise<BackendChoice> {
  choice ??= chooseBackend({ override, wasmPaths });
  return choice;
}
