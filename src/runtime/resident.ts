/**
 * Resident strips (issue 9, ALGORITHMS.md §5 [ours]): a device keeps its rows of each layer's
 * output between the layers of a run and swaps only the halo rows its neighbours need, directly
 * with them. The same routine runs a strip on a worker and on the owner; only how halos travel
 * differs (`HaloIo`).
 */
import { residentLayerSlice, type HaloTransfer, type NodeSlice, type Range, type ResidentStep, type TileSlice } from '../partition/index.ts';
import type { ModelGraph, ModelWeights, Tensor3D, TfModule } from '../model/index.ts';
import { RuntimeError } from './errors.ts';
import { runTileSliceStepwise, type Band } from './local-executor.ts';

/** One layer as one device runs it: the node slice, the halos it receives first, the halos it sends after. */
export interface ResidentLayerProgram {
  node: NodeSlice;
  /** Rows of this layer's producer that other devices send here before it runs. */
  halosIn: { from: number; rows: Range }[];
  /** Rows of this layer's output that go to other devices (for the next layer). */
  halosOut: { to: number; rows: Range }[];
}

/** Everything one device needs to run its strip of a resident step. */
export interface ResidentProgram {
  device: number;
  /** Full-width rows of the run's input node the owner sends. */
  input: { nodeId: number; rect: TileSlice['tile'] };
  layers: ResidentLayerProgram[];
}

/** The part of `step` that concerns `device`. */
export function residentProgram(step: ResidentStep, device: number): ResidentProgram {
  const input = step.inputs.find((i) => i.device === device);
  if (!input) throw new RuntimeError('ERR_RUNTIME_PLAN', `device ${device} has no strip in this resident run`);
  const layers = step.layers.map((layer, k): ResidentLayerProgram => {
    const slice = layer.slices.find((s) => s.device === device);
    if (!slice) throw new RuntimeError('ERR_RUNTIME_PLAN', `device ${device} has no rows of node ${layer.nodeId}`);
    const next: readonly HaloTransfer[] = step.layers[k + 1]?.halos ?? [];
    return {
      node: slice.node,
      halosIn: layer.halos.filter((h) => h.to === device).map((h) => ({ from: h.from, rows: h.rows })),
      halosOut: next.filter((h) => h.from === device).map((h) => ({ to: h.to, rows: h.rows })),
    };
  });
  return { device, input: { nodeId: input.nodeId, rect: input.rect }, layers };
}

/** How a device's halos travel: the runtime gives the owner and each worker their own. */
export interface HaloIo {
  /** Sends rows (a full-width band of layer `layer`'s producer… i.e. of the previous layer's output) to device `to`. */
  send(to: number, layer: number, rows: Range, band: Tensor3D): Promise<void>;
  /** The rows device `from` sends here before layer `layer`, as a full-width band. */
  receive(from: number, layer: number, rows: Range): Promise<Tensor3D>;
}

const rowCount = (r: Range): number => Math.max(0, r.end - r.start + 1);

/** The rows of `band` (which starts at row `first`) in `rows`, full width. */
function rowsOf(tf: TfModule, band: Tensor3D, first: number, rows: Range): Tensor3D {
  return tf.slice(band, [rows.start - first, 0, 0], [rowCount(rows), -1, -1]);
}

/**
 * Runs one device's strip of a resident step from its input band: for each layer, sends the rows
 * its neighbours need of what it holds, gathers the rows it needs from them, and computes its
 * rows. Halo sends are not awaited before computing (they overlap the next layer); all are
 * awaited before returning. Returns the strip of the run's last layer; disposes everything else
 * (the input band is the caller's).
 */
export async function runResidentStrip(
  tf: TfModule,
  graph: ModelGraph,
  weights: ModelWeights,
  program: ResidentProgram,
  input: Tensor3D,
  io: HaloIo,
  pause: () => Promise<void>,
  /** Filled in as the strip runs: ms spent waiting for neighbours' halos (the layer barrier's cost). */
  stats: { haloWaitMs: number } = { haloWaitMs: 0 },
  now: () => number = () => performance.now(),
): Promise<Tensor3D> {
  const sends: Promise<void>[] = [];
  let held: { tensor: Tensor3D; first: number; own: boolean } = { tensor: input, first: program.input.rect.rows.start, own: false };
  try {
    for (const [k, layer] of program.layers.entries()) {
      const cut = layer.node.inputs[0];
      if (!cut || layer.node.inputs.length !== 1) throw new RuntimeError('ERR_RUNTIME_PLAN', `node ${layer.node.nodeId} is not a single-input layer`);
      if (k > 0) await pause();
      const waitStart = now();
      const band = await assemble(tf, held, cut.rect.rows, k, layer.halosIn, io);
      stats.haloWaitMs += now() - waitStart;
      let out: Tensor3D;
      try {
        const slice = residentLayerSlice(program.device, layer.node);
        // Bands are held full width; a strided 'valid' window may read fewer columns, cut from column 0.
        const bands = new Map<number, Band>([[cut.producerId, { tensor: band, row: cut.rect.rows.start, col: 0 }]]);
        out = await runTileSliceStepwise(tf, graph, weights, slice, bands, pause);
      } finally {
        if (band !== held.tensor) band.dispose();
      }
      if (held.own) held.tensor.dispose();
      held = { tensor: out, first: layer.node.out.rows.start, own: true };
      for (const { to, rows } of layer.halosOut) {
        const part = rowsOf(tf, out, held.first, rows);
        const sent = io.send(to, k + 1, rows, part).finally(() => part.dispose());
        sent.catch(() => {}); // awaited below; a failure before then must not count as unhandled
        sends.push(sent);
      }
    }
    await Promise.all(sends);
    const result = held.tensor;
    held = { ...held, own: false };
    return result;
  } catch (err) {
    await Promise.allSettled(sends);
    throw err;
  } finally {
    if (held.own) held.tensor.dispose();
  }
}

/**
 * The band of rows `needed` (full width) of the previous layer's output: what this device holds
 * of it, and the halos, in row order. Every row must come from exactly one piece.
 */
async function assemble(tf: TfModule, held: { tensor: Tensor3D; first: number }, needed: Range, layer: number, halosIn: ResidentLayerProgram['halosIn'], io: HaloIo): Promise<Tensor3D> {
  const heldRows: Range = { start: held.first, end: held.first + held.tensor.shape[0] - 1 };
  const own: Range = { start: Math.max(needed.start, heldRows.start), end: Math.min(needed.end, heldRows.end) };
  if (halosIn.length === 0 && own.start === heldRows.start && own.end === heldRows.end && rowCount(own) === rowCount(needed)) return held.tensor;
  const halos = await Promise.all(halosIn.map(async ({ from, rows }) => ({ rows, tensor: await io.receive(from, layer, rows) })));
  const pieces = [...halos];
  const ownPiece = rowCount(own) > 0 ? rowsOf(tf, held.tensor, held.first, own) : null;
  if (ownPiece) pieces.push({ rows: own, tensor: ownPiece });
  pieces.sort((a, b) => a.rows.start - b.rows.start);
  try {
    let next = needed.start;
    for (const piece of pieces) {
      if (piece.rows.start !== next || piece.tensor.shape[0] !== rowCount(piece.rows)) {
        throw new RuntimeError('ERR_RUNTIME_PLAN', `layer ${layer}: rows ${needed.start}..${needed.end} are not covered once by this device's rows and its halos (at row ${next})`);
      }
      next = piece.rows.end + 1;
    }
    if (next !== needed.end + 1) throw new RuntimeError('ERR_RUNTIME_PLAN', `layer ${layer}: rows ${next}..${needed.end} came from nobody`);
    return pieces.length === 1 ? tf.clone(pieces[0]?.tensor as Tensor3D) : tf.concat(pieces.map((p) => p.tensor), 0);
  } finally {
    for (const piece of pieces) piece.tensor.dispose();
  }
}

/**
 * Where halos wait for the run that needs them (they may arrive before its request does): a
 * worker's incoming halos, and the ones it computed for the owner until the owner pulls them.
 */
export class HaloMailbox<T> {
  private readonly waiting = new Map<string, { resolve: (value: T) => void; reject: (err: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  private readonly arrived = new Map<string, { letter: T; at: number }>();
  private readonly cancelled = new Map<string, string>();

  private heldBytes = 0;

  /**
   * @param sizeOf the bytes a letter holds.
   * @param limits at most `letters` halos and `bytes` of values waiting for a taker, each dropped
   *   after `keepMs`, and a run's receive waits `waitMs` at most: a peer cannot make this device
   *   hold much memory, or hold it for long.
   */
  constructor(
    private readonly sizeOf: (letter: T) => number,
    private readonly limits: { letters: number; bytes: number; keepMs: number; waitMs: number } = { letters: 256, bytes: 128 * 1024 * 1024, keepMs: 60_000, waitMs: 120_000 },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A halo arrived. Returns false (and keeps nothing) when the box is full or the run was cancelled. */
  put(key: HaloKey, letter: T): boolean {
    const id = keyOf(key);
    if (this.cancelled.has(key.runId)) return false;
    const waiter = this.waiting.get(id);
    if (waiter) {
      this.waiting.delete(id);
      clearTimeout(waiter.timer);
      waiter.resolve(letter);
      return true;
    }
    this.expire();
    const bytes = this.sizeOf(letter);
    if (this.arrived.size >= this.limits.letters || this.heldBytes + bytes > this.limits.bytes || this.arrived.has(id)) return false;
    this.arrived.set(id, { letter, at: this.now() });
    this.heldBytes += bytes;
    return true;
  }

  /** The halo for `key`, now or when it arrives; rejects after the wait limit or when the run is cancelled. */
  take(key: HaloKey): Promise<T> {
    const id = keyOf(key);
    const reason = this.cancelled.get(key.runId);
    if (reason !== undefined) return Promise.reject(new RuntimeError('ERR_RESIDENT_PEER', reason));
    const kept = this.arrived.get(id);
    if (kept) {
      this.drop(id);
      return Promise.resolve(kept.letter);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new RuntimeError('ERR_RESIDENT_PEER', `device ${key.from}'s rows for layer ${key.layer} never came`));
      }, this.limits.waitMs);
      this.waiting.set(id, { resolve, reject, timer });
    });
  }

  /** Ends a run: its waits reject with `reason`, its letters go, later ones are refused. */
  cancel(runId: string, reason: string): void {
    this.cancelled.set(runId, reason);
    if (this.cancelled.size > 64) this.cancelled.delete(this.cancelled.keys().next().value as string);
    for (const [id, waiter] of this.waiting) {
      if (!id.startsWith(`${runId}/`)) continue;
      this.waiting.delete(id);
      clearTimeout(waiter.timer);
      waiter.reject(new RuntimeError('ERR_RESIDENT_PEER', reason));
    }
    for (const id of [...this.arrived.keys()]) if (id.startsWith(`${runId}/`)) this.drop(id);
  }

  /** Halos held for runs not (yet) taken, for tests and limits. */
  get held(): number {
    return this.arrived.size;
  }

  /** Bytes of halo values waiting for a taker. */
  get bytes(): number {
    return this.heldBytes;
  }

  private drop(id: string): void {
    const kept = this.arrived.get(id);
    if (!kept) return;
    this.arrived.delete(id);
    this.heldBytes -= this.sizeOf(kept.letter);
  }

  private expire(): void {
    const now = this.now();
    for (const [id, { at }] of [...this.arrived]) if (now - at > this.limits.keepMs) this.drop(id);
  }
}

export interface HaloKey {
  runId: string;
  layer: number;
  from: number;
  /**
   * The peer id the halo came over (the link's, not a claim in the message): part of the key, so a
   * run member that forges another device's rows cannot take their place, only wait to expire.
   */
  sender: string;
}

/** A halo as it arrived: who sent it (peer id), which rows, and the values (float32, restored). */
export interface HaloLetter {
  sender: string;
  rows: Range;
  values: Float32Array;
  shape: [number, number, number];
}

/** The bytes a halo's values hold (the mailbox's limit counts them). */
export const letterBytes = (letter: HaloLetter): number => letter.values.byteLength;

const keyOf = (key: HaloKey): string => `${key.runId}/${key.layer}/${key.from}/${key.sender}`;
