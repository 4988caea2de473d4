/**
 * A room of emulated phones for the benchmark: the app served by the real signaling server, the
 * owner page and N worker pages, each in its own browser and CPU quota (bench/emulation.ts),
 * on loopback or on shaped links. `classify` calls the owner page's API.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassifyRequest, ClassifySummary } from '../src/ui/model-runner.ts';
import { createSignalingServer, type SignalingServer } from '../signaling/server.ts';
import { HUB_ADDRESS, type LinkShape, type Phone, type Sandbox } from './emulation.ts';
import { classifySeededBatchOnPage, type SeededBatchRequest, type SeededBatchResult } from './seeded-batch.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const READY_TIMEOUT_MS = 240_000;

export interface Worker {
  phone: Phone;
  /** The owner's id for this worker's link (what `workers` in a request names). */
  peerId: string;
}

export interface Room {
  owner: Phone;
  workers: Worker[];
  /** 'loopback' or the tbf rate of every phone's link. */
  link: string;
  classify(request: ClassifyRequest): Promise<ClassifySummary>;
  /** Several images in flight through the owner page's `classifyMany`, the images drawn on the page from seeds (bench/seeded-batch.ts). */
  classifyMany(request: SeededBatchRequest): Promise<SeededBatchResult>;
  /** The links' own byte and message counters now (owner ↔ each worker; each worker → each neighbour), to difference around an image. */
  linkCounters(): Promise<LinkCounters>;
  /** Waits (up to `timeoutMs`) until every worker is ready again, then reads the owner's peer ids again (a rejoined worker may have a new one). */
  refreshPeers(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Counters of the data channels, cumulative since each link opened. `owner`: per worker peer id,
 * frames both ways on the owner's link to it (heartbeats included); `neighbours`: per
 * `worker>neighbour`, bytes that worker sent over its direct link to that neighbour (each
 * worker↔worker frame counted once, by its sender); null where the page has no such API.
 */
export interface LinkCounters {
  owner: Record<string, { bytes: number; messages: number }>;
  neighbours: Record<string, number> | null;
}

/** What moved between two counter readings: links that opened in between count from zero, links that closed are left out. */
export function linkDelta(before: LinkCounters, after: LinkCounters): { ownerBytes: number; ownerMessages: number; neighbourBytes: number | null } {
  let ownerBytes = 0;
  let ownerMessages = 0;
  for (const [id, now] of Object.entries(after.owner)) {
    const then = before.owner[id] ?? { bytes: 0, messages: 0 };
    ownerBytes += Math.max(0, now.bytes - then.bytes);
    ownerMessages += Math.max(0, now.messages - then.messages);
  }
  let neighbourBytes: number | null = null;
  if (after.neighbours) {
    neighbourBytes = 0;
    for (const [key, now] of Object.entries(after.neighbours)) neighbourBytes += Math.max(0, now - (before.neighbours?.[key] ?? 0));
  }
  return { ownerBytes, ownerMessages, neighbourBytes };
}

/** A stable device id per phone, set before the app reads it, so the owner's peer list names the browser. */
const deviceIdOf = (name: string) => `bench-phone-${name}`;

/**
 * Opens a room: owner + `workerCount` workers at `cpuFraction` of a core each. With `shape`, each
 * phone gets its own network namespace and a veth link shaped both ways; without, all share this
 * process's namespace (loopback only).
 */
export async function openRoom(sandbox: Sandbox, options: { workerCount: number; cpuFraction: number; shape: LinkShape | null; log: (s: string) => void }): Promise<Room> {
  const { workerCount, cpuFraction, shape, log } = options;
  const server: SignalingServer = await createSignalingServer({ port: 0, host: shape ? '0.0.0.0' : '127.0.0.1', staticDir: path.join(root, 'dist') });
  const host = shape ? HUB_ADDRESS : '127.0.0.1';
  const origin = `http://${host}:${server.port}`;
  const names = ['owner', ...Array.from({ length: workerCount }, (_, i) => `w${i + 1}`)];
  const started = performance.now();
  try {
    const phones = await Promise.all(
      names.map(async (name, index) => {
        const netns = shape ? sandbox.networkNamespace(index, shape).name : undefined;
        const phone = await sandbox.launchPhone(name, cpuFraction, { ...(netns ? { netns } : {}), ...(shape ? { secureOrigin: origin } : {}) });
        await phone.context.addInitScript((id) => sessionStorage.setItem('modnn.deviceId', id), deviceIdOf(name));
        return phone;
      }),
    );
    const owner = phones[0] as Phone;
    await owner.page.goto(`${origin}/?backend=wasm`);
    await owner.page.waitForSelector('[data-signaling="open"]', { timeout: READY_TIMEOUT_MS });
    const joinUrl = (await owner.page.locator('input.join-link').inputValue()).replace('/#', '/?backend=wasm#');
    if (!joinUrl.startsWith(origin)) throw new Error(`bench: the owner's join link ${joinUrl} is not on ${origin}`);
    await Promise.all(phones.slice(1).map((p) => p.page.goto(joinUrl)));
    await owner.page.waitForFunction((n) => document.querySelectorAll('tr.peer[data-state="ready"]').length >= n, workerCount, { timeout: READY_TIMEOUT_MS, polling: 500 });
    const readPeers = () =>
      owner.page.evaluate(() =>
        (window as unknown as { modnn: { mesh: { readyPeers(): { peerId: string; device: { deviceId: string } | null }[] } } }).modnn.mesh.readyPeers().map((p) => ({ peerId: p.peerId, deviceId: p.device?.deviceId ?? '' })),
      );
    const peers = await readPeers();
    const workers = phones.slice(1).map((phone) => {
      const peer = peers.find((p) => p.deviceId === deviceIdOf(phone.name));
      if (!peer) throw new Error(`bench: worker ${phone.name} is not among the owner's ready peers`);
      return { phone, peerId: peer.peerId };
    });
    const refreshPeers = async (timeoutMs = 0) => {
      if (timeoutMs > 0) {
        await owner.page
          .waitForFunction((n) => document.querySelectorAll('tr.peer[data-state="ready"]').length >= n, workerCount, { timeout: timeoutMs, polling: 250 })
          .catch(() => log(`  not every worker is ready again after ${timeoutMs / 1000} s`));
      }
      const now = await readPeers();
      for (const w of workers) {
        const peer = now.find((p) => p.deviceId === deviceIdOf(w.phone.name));
        if (peer && peer.peerId !== w.peerId) {
          log(`  ${w.phone.name} rejoined as ${peer.peerId}`);
          w.peerId = peer.peerId;
        }
      }
    };
    log(`room open on ${shape ? `${shape.rate} links` : 'loopback'}: owner + ${workerCount} workers at ${Math.round(cpuFraction * 100)}% of a core each, ready in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return {
      owner,
      workers,
      link: shape ? shape.rate : 'loopback',
      refreshPeers,
      classify: (request) =>
        owner.page.evaluate((r) => (window as unknown as { modnn: { classify(r: ClassifyRequest): Promise<ClassifySummary> } }).modnn.classify(r), request),
      classifyMany: (request) => owner.page.evaluate(classifySeededBatchOnPage, request),
      linkCounters: async () => {
        type Stats = { bytesSent: number; bytesReceived: number; messagesSent: number; messagesReceived: number };
        const ownerSide = await owner.page.evaluate(() =>
          Object.fromEntries(
            (window as unknown as { modnn: { mesh: { peers(): { peerId: string; stats: Stats }[] } } }).modnn.mesh
              .peers()
              .map((p) => [p.peerId, { bytes: p.stats.bytesSent + p.stats.bytesReceived, messages: p.stats.messagesSent + p.stats.messagesReceived }]),
          ),
        );
        const perWorker = await Promise.all(
          workers.map((w) =>
            w.phone.page
              .evaluate(() => {
                const mesh = (window as unknown as { modnn?: { mesh?: { neighbours?(): string[]; neighbourStats?(id: string): Stats | null } } }).modnn?.mesh;
                if (!mesh?.neighbours || !mesh.neighbourStats) return null;
                return mesh.neighbours().map((id) => [id, mesh.neighbourStats?.(id)?.bytesSent ?? 0] as const);
              })
              .then((pairs) => ({ name: w.phone.name, pairs }))
              .catch(() => ({ name: w.phone.name, pairs: null })),
          ),
        );
        const neighbours = perWorker.every((p) => p.pairs === null) ? null : Object.fromEntries(perWorker.flatMap((p) => (p.pairs ?? []).map(([id, bytes]) => [`${p.name}>${id}`, bytes])));
        return { owner: ownerSide, neighbours };
      },
      close: async () => {
        await Promise.all(phones.map((p) => p.browser.close().catch(() => {})));
        await server.close();
      },
    };
  } catch (err) {
    await server.close();
    throw err;
  }
}

/**
 * Runs the same CPU-bound loop in each phone at once and returns each one's wall time (ms): with
 * one quota per browser, k phones should finish together about as fast as one alone.
 */
export async function parallelLoop(phones: readonly Phone[], iterations: number): Promise<number[]> {
  return Promise.all(
    phones.map((p) =>
      p.page.evaluate((n) => {
        const t0 = performance.now();
        let x = 0;
        for (let i = 0; i < n; i++) x += Math.sqrt(i) * 1e-9;
        // Returned so the loop cannot be optimised away.
        return performance.now() - t0 + x * 0;
      }, iterations),
    ),
  );
}
