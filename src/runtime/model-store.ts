/**
 * Where a worker keeps model packages by hash, so a rejoin does not transfer them again:
 * Cache Storage in the browser (it persists, and the service worker can serve it later), a Map
 * elsewhere.
 */
export interface ModelStore {
  get(hash: string): Promise<Uint8Array | null>;
  put(hash: string, bytes: Uint8Array): Promise<void>;
}

export function memoryModelStore(): ModelStore {
  const packages = new Map<string, Uint8Array>();
  return {
    get: (hash) => Promise.resolve(packages.get(hash) ?? null),
    put: (hash, bytes) => {
      packages.set(hash, bytes);
      return Promise.resolve();
    },
  };
}

const CACHE_NAME = 'modnn-model-packages-v1';
/** A same-origin URL that names the package in Cache Storage (never fetched from the network). */
const keyOf = (hash: string): string => new URL(`/__modnn/packages/${hash}`, location.origin).toString();

/** Cache Storage when the page has it (secure contexts), else memory for this page's life. */
export function browserModelStore(): ModelStore {
  if (typeof caches === 'undefined') return memoryModelStore();
  return {
    async get(hash) {
      const response = await (await caches.open(CACHE_NAME)).match(keyOf(hash));
      return response ? new Uint8Array(await response.arrayBuffer()) : null;
    },
    async put(hash, bytes) {
      await (await caches.open(CACHE_NAME)).put(keyOf(hash), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': 'application/octet-stream' } }));
    },
  };
}
