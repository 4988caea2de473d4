/**
 * `npm run bench:link`: owner→worker throughput of a WebRTC data channel on loopback for chunk
 * sizes of 16, 64 and 256 KiB, cold (the first transfer on a fresh channel), right after the
 * join probe (what the first image sees), and warm; next to the same bytes sent page → Node
 * WebSocket relay → page in the same run. Writes bench/results/link.md and link.json.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from '@playwright/test';
import { WebSocketServer, type WebSocket as NodeWebSocket } from 'ws';
import { deviceContextOptions, launchOptions } from '../e2e/browser.ts';
import { createSignalingServer } from '../signaling/server.ts';
import { machineStamp, median, stampMarkdown } from './machine.ts';

const PAYLOAD_BYTES = 8 * 1024 * 1024;
const CHUNK_KIB = [16, 64, 256];
const FRESH_CHANNELS = 3;
const WARM_REPEATS = 3;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Sample {
  transport: 'datachannel' | 'websocket';
  chunkKiB: number;
  phase: 'cold' | 'after-probe' | 'warm';
  bytes: number;
  ms: number;
}
const samples: Sample[] = [];
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

/** A WebSocket relay in this process: what the sender writes under an id goes to the receiver of that id, and back. */
function startRelay(): Promise<{ port: number; close: () => void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 20 });
  const pairs = new Map<string, { send?: NodeWebSocket; recv?: NodeWebSocket }>();
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const id = url.searchParams.get('id') ?? '';
    const role = url.searchParams.get('role') === 'send' ? 'send' : 'recv';
    const pair = pairs.get(id) ?? {};
    pair[role] = ws;
    pairs.set(id, pair);
    ws.on('message', (data, isBinary) => {
      const other = role === 'send' ? pair.recv : pair.send;
      other?.send(data, { binary: isBinary });
    });
  });
  return new Promise((resolve) =>
    wss.on('listening', () => resolve({ port: (wss.address() as { port: number }).port, close: () => wss.close() })),
  );
}

async function openRoom(browser: Browser, baseUrl: string, query: string): Promise<{ owner: Page; worker: Page; close(): Promise<void> }> {
  const ownerContext = await browser.newContext(deviceContextOptions);
  const workerContext = await browser.newContext(deviceContextOptions);
  const owner = await ownerContext.newPage();
  await owner.goto(`${baseUrl}${query}`);
  await owner.waitForSelector('[data-signaling="open"]');
  const joinUrl = await owner.locator('input.join-link').inputValue();
  const worker = await workerContext.newPage();
  await worker.goto(joinUrl);
  await owner.waitForSelector('tr.peer[data-state="ready"]', { timeout: 60_000 });
  return { owner, worker, close: async () => (await ownerContext.close(), await workerContext.close()) };
}

/** One owner→worker transfer of `bytes` over the data channel, timed until the worker confirms receipt. */
function timeDataChannel(owner: Page, bytes: number): Promise<number> {
  return owner.evaluate(async (n) => {
    type Mesh = { readyPeers(): { peerId: string }[]; request(id: string, meta: unknown, t: unknown[], o: unknown): Promise<unknown> };
    const mesh = (window as unknown as { modnn: { mesh: Mesh } }).modnn.mesh;
    const peerId = (mesh.readyPeers()[0] as { peerId: string }).peerId;
    const t0 = performance.now();
    await mesh.request(peerId, { method: 'mesh.probe' }, [{ dtype: 'uint8', shape: [n], data: new Uint8Array(n) }], { timeoutMs: 120_000 });
    return performance.now() - t0;
  }, bytes);
}

/** The worker page listens on the relay; the owner page sends `bytes` in `chunkBytes` pieces and waits for "done". */
async function openWebSocketPair(owner: Page, worker: Page, relayPort: number, id: string): Promise<void> {
  await worker.evaluate(
    ({ port, id }) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/?role=recv&id=${id}`);
        ws.binaryType = 'arraybuffer';
        let expected = 0;
        let received = 0;
        ws.onmessage = (ev) => {
          if (typeof ev.data === 'string') {
            expected = Number(ev.data);
            received = 0;
            return;
          }
          received += (ev.data as ArrayBuffer).byteLength;
          if (received === expected) ws.send('done');
        };
        ws.onopen = () => resolve();
      }),
    { port: relayPort, id },
  );
  await owner.evaluate(
    ({ port, id }) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/?role=send&id=${id}`);
        (window as unknown as { benchSocket: WebSocket }).benchSocket = ws;
        ws.onopen = () => resolve();
      }),
    { port: relayPort, id },
  );
}

function timeWebSocket(owner: Page, bytes: number, chunkBytes: number): Promise<number> {
  return owner.evaluate(
    async ({ n, chunk }) => {
      const ws = (window as unknown as { benchSocket: WebSocket }).benchSocket;
      const done = new Promise<void>((resolve) => (ws.onmessage = () => resolve()));
      const t0 = performance.now();
      ws.send(String(n));
      const piece = new Uint8Array(chunk);
      for (let sent = 0; sent < n; sent += chunk) {
        // WebSocket has no bufferedamountlow event: poll, with the same 4 MiB high-water mark as the links.
        while (ws.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
        ws.send(piece.subarray(0, Math.min(chunk, n - sent)));
      }
      await done;
      return performance.now() - t0;
    },
    { n: bytes, chunk: chunkBytes },
  );
}

async function main(): Promise<void> {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: path.join(root, 'dist') });
  const relay = await startRelay();
  const browser = await chromium.launch(launchOptions);
  const baseUrl = `http://127.0.0.1:${server.port}/`;
  try {
    for (const chunkKiB of CHUNK_KIB) {
      for (let run = 0; run < FRESH_CHANNELS; run++) {
        // Data channel without the join probe: cold, then warm.
        const cold = await openRoom(browser, baseUrl, `?chunkKiB=${chunkKiB}&probe=0`);
        samples.push({ transport: 'datachannel', chunkKiB, phase: 'cold', bytes: PAYLOAD_BYTES, ms: await timeDataChannel(cold.owner, PAYLOAD_BYTES) });
        for (let i = 0; i < WARM_REPEATS; i++) {
          samples.push({ transport: 'datachannel', chunkKiB, phase: 'warm', bytes: PAYLOAD_BYTES, ms: await timeDataChannel(cold.owner, PAYLOAD_BYTES) });
        }
        // The same bytes through a WebSocket relay, between the same two pages.
        await openWebSocketPair(cold.owner, cold.worker, relay.port, `${chunkKiB}-${run}`);
        samples.push({ transport: 'websocket', chunkKiB, phase: 'cold', bytes: PAYLOAD_BYTES, ms: await timeWebSocket(cold.owner, PAYLOAD_BYTES, chunkKiB * 1024) });
        for (let i = 0; i < WARM_REPEATS; i++) {
          samples.push({ transport: 'websocket', chunkKiB, phase: 'warm', bytes: PAYLOAD_BYTES, ms: await timeWebSocket(cold.owner, PAYLOAD_BYTES, chunkKiB * 1024) });
        }
        await cold.close();
        // With the join probe (the product's default): the first transfer is what the first image sees.
        const probed = await openRoom(browser, baseUrl, `?chunkKiB=${chunkKiB}`);
        samples.push({ transport: 'datachannel', chunkKiB, phase: 'after-probe', bytes: PAYLOAD_BYTES, ms: await timeDataChannel(probed.owner, PAYLOAD_BYTES) });
        await probed.close();
        process.stdout.write('.');
      }
    }
    process.stdout.write('\n');
    const stamp = machineStamp(browser.version());
    const report = renderReport(stamp);
    console.log(report);
    await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
    await writeFile(path.join(root, 'bench', 'results', 'link.md'), report);
    await writeFile(path.join(root, 'bench', 'results', 'link.json'), JSON.stringify({ machine: stamp, payloadBytes: PAYLOAD_BYTES, samples }, null, 1));
  } finally {
    await browser.close();
    relay.close();
    await server.close();
  }
}

function renderReport(stamp: ReturnType<typeof machineStamp>): string {
  const cell = (transport: Sample['transport'], chunkKiB: number, phase: Sample['phase']) => {
    const rates = samples.filter((s) => s.transport === transport && s.chunkKiB === chunkKiB && s.phase === phase).map((s) => mbps(s.bytes, s.ms));
    if (rates.length === 0) return '–';
    return `${median(rates).toFixed(1)} (${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)})`;
  };
  const rows = CHUNK_KIB.map(
    (c) =>
      `| ${c} KiB | ${cell('datachannel', c, 'cold')} | ${cell('datachannel', c, 'after-probe')} | ${cell('datachannel', c, 'warm')} | ${cell('websocket', c, 'cold')} | ${cell('websocket', c, 'warm')} |`,
  );
  return [
    '# Link throughput: WebRTC data channel vs WebSocket relay (loopback)',
    '',
    stampMarkdown(stamp),
    '',
    `Owner page → worker page, ${PAYLOAD_BYTES / 2 ** 20} MiB per transfer, timed until the receiver confirms every byte.`,
    `MB/s (10^6 bytes/s): median (min–max) over ${FRESH_CHANNELS} fresh channels (cold, after-probe) or ${FRESH_CHANNELS}×${WARM_REPEATS} transfers (warm).`,
    '- **cold**: the first transfer on a fresh data channel, join probe turned off (`?probe=0`).',
    '- **after probe**: the first transfer after the product’s default join probe (what the first image sees).',
    '- **warm**: later transfers on the same channel.',
    '- **WebSocket**: the same bytes page → Node `ws` relay on 127.0.0.1 → page, same chunk size, same 4 MiB high-water mark.',
    '  On loopback TCP is cheap; on a real Wi-Fi LAN the relay doubles the air time (phone → laptop → phone, each through the',
    '  access point, where the data channel goes phone → phone once), and the laptop carries every byte of every worker.',
    '- The join probe sends 11.25 MiB (256 KiB, 1, 2, 4, 4 MiB) and reports the best of its last two samples.',
    '',
    '| chunk | data channel cold | data channel after probe | data channel warm | WebSocket cold | WebSocket warm |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Run with `npm run bench:link` (inside a private network namespace when run as root). Raw samples: `link.json`.',
    '',
  ].join('\n');
}

await main();
