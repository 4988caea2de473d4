/**
 * Tunables read once from the page's query string (`?chunkKiB=16&probe=0&relay=force`), for
 * experiments, benchmarks and tests. Anything malformed is reported and the default kept.
 */
import { BACKEND_NAMES, type BackendName } from '../compute/index.ts';
import { DEFAULT_LINK_OPTIONS, DEFAULT_RELAY_OPTIONS, MAX_CHUNK_BYTES, type RelayMode } from '../mesh/index.ts';

const RELAY_MODES: readonly RelayMode[] = ['auto', 'force', 'off'];

export interface PageConfig {
  /** Body bytes per data-channel frame. `chunkKiB`, default 64; 256 means Chromium's maximum. */
  chunkBytes: number;
  /** Run the throughput probe when a worker joins. `probe=0` turns it off. Default on. */
  probe: boolean;
  /** `backend=wasm` (webgpu, webgl, wasm, cpu) instead of the fastest measured. Default none. */
  backend: BackendName | null;
  /**
   * Relaying through the server (owner page; workers follow the owner): `relay=auto` (default:
   * when no direct link is up within `relayAfterMs`), `force` (always), `off` (never).
   */
  relay: RelayMode;
  /** `relayAfterMs=3000`: how long to wait for a direct link before relaying, 500–60000. Default 6000. */
  relayAfterMs: number;
}

export function readPageConfig(search: string, warn: (message: string) => void = console.warn): PageConfig {
  const params = new URLSearchParams(search);
  const config: PageConfig = { chunkBytes: DEFAULT_LINK_OPTIONS.chunkBytes, probe: true, backend: null, relay: DEFAULT_RELAY_OPTIONS.mode, relayAfterMs: DEFAULT_RELAY_OPTIONS.directTimeoutMs };
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
  const relay = params.get('relay');
  if (relay !== null) {
    if ((RELAY_MODES as readonly string[]).includes(relay)) config.relay = relay as RelayMode;
    else warn(`modnn-web: ignoring relay=${relay}: give one of ${RELAY_MODES.join(', ')}.`);
  }
  const relayAfterMs = params.get('relayAfterMs');
  if (relayAfterMs !== null) {
    const ms = Number(relayAfterMs);
    if (Number.isInteger(ms) && ms >= 500 && ms <= 60_000) config.relayAfterMs = ms;
    else warn(`modnn-web: ignoring relayAfterMs=${relayAfterMs}: give an integer 500–60000.`);
  }
  return config;
}
