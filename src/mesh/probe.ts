/**
 * Link throughput probe, run by the owner right after a worker joins. A fresh data channel
 * starts slowly (the first ~10 MiB at a fraction of its speed on Chromium), so the probe also
 * warms the channel up: the first image does not pay for the slow start.
 */
import type { MessageLink, Reply } from './link.ts';
import { wireTensor, type IncomingMessage } from './wire/index.ts';

export const PROBE_METHOD = 'mesh.probe';

export interface ProbeOptions {
  /** Payload sizes, sent one after another; the last ones measure the warm channel. */
  sizesBytes: number[];
  /** Stop early after this long (slow links). Default 8 s. */
  budgetMs: number;
  now: () => number;
}

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = {
  sizesBytes: [256 * 1024, 1024 * 1024, 2 * 1024 * 1024, 4 * 1024 * 1024, 4 * 1024 * 1024],
  budgetMs: 8_000,
  now: () => performance.now(),
};

export interface ProbeSample {
  bytes: number;
  ms: number;
}

export interface ProbeResult {
  /** Warm throughput in bytes per second: the best of the last two samples. */
  bytesPerSec: number;
  samples: ProbeSample[];
}

/** Sends the probe payloads and times each until the worker confirms it has all the bytes. */
export async function probeThroughput(link: MessageLink, options: Partial<ProbeOptions> = {}): Promise<ProbeResult> {
  const { sizesBytes, budgetMs, now } = { ...DEFAULT_PROBE_OPTIONS, ...options };
  const samples: ProbeSample[] = [];
  const start = now();
  for (const bytes of sizesBytes) {
    if (samples.length > 0 && now() - start > budgetMs) break;
    const payload = new Uint8Array(bytes);
    const t0 = now();
    const reply = await link.request({ method: PROBE_METHOD }, [wireTensor([bytes], payload)], { timeoutMs: Math.max(budgetMs, 10_000) });
    const received = (reply.meta as { bytes?: unknown } | null)?.bytes;
    if (received !== bytes) throw new Error(`probe: the peer confirmed ${String(received)} of ${bytes} bytes`);
    samples.push({ bytes, ms: Math.max(0.001, now() - t0) });
  }
  const rates = samples.slice(-2).map((s) => (s.bytes / s.ms) * 1000);
  return { bytesPerSec: Math.max(...rates), samples };
}

/** The worker's side: confirm how many bytes arrived. */
export function answerProbe(request: IncomingMessage): Reply {
  const bytes = request.tensors.reduce((sum, t) => sum + t.data.byteLength, 0);
  return { meta: { bytes } };
}
