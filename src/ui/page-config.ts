/**
 * Tunables read once from the page's query string (`?chunkKiB=16&probe=0`), for experiments
 * and benchmarks. Anything malformed is reported and the default kept.
 */
import { BACKEND_NAMES, type BackendName } from '../compute/index.ts';
import { DEFAULT_LINK_OPTIONS, MAX_CHUNK_BYTES } from '../mesh/index.ts';

export interface PageConfig {
  /** Body bytes per data-channel frame. `chunkKiB`, default 64; 256 means Chromium's maximum. */
  chunkBytes: number;
  /** Run the throughput probe when a worker joins. `probe=0` turns it off. Default on. */
  probe: boolean;
  /** `backend=wasm` (webgpu, webgl, wasm, cpu) instead of the fastest measured. Default none. */
  backend: BackendName | null;
}

export function readPageConfig(search: string, warn: (message: string) => void = console.warn): PageConfig {
  const params = new URLSearchParams(search);
  const config: PageConfig = { chunkBytes: DEFAULT_LINK_OPTIONS.chunkBytes, probe: true, backend: null };
  const chunkKiB = params.get('chunkKiB');
  if (chunkKiB !== null) {
    const kib = Number(chunkKiB);
    if (Number.isInteger(kib) && kib >= 1 && kib <= 256) config.chunkBytes = Math.min(kib * 1024, MAX_CHUNK_BYTES);
    else warn(`modnn-web: ignoring chunkKiB=${chunkKiB}: give an integer 1–256.`);
  }
  const probe = params.get('probe');
  if (probe !== null) config.probe = !['0', 'false', 'off'].includes(probe);
  const backend = params.get('backend');
  if (backend !== null) {
    if ((BACKEND_NAMES as readonly string[]).includes(backend)) config.backend = backend as BackendName;
    else warn(`modnn-web: ignoring backend=${backend}: give one of ${BACKEND_NAMES.join(', ')}.`);
  }
  return config;
}
