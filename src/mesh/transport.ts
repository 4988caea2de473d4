/**
 * The seam under a link: something that carries whole frames in order to one peer. WebRTC data
 * channels in the product (rtc-transport.ts), an in-memory pair in unit tests.
 */
import { MeshError } from '../errors.ts';

export interface FrameTransport {
  /** Bytes handed to `send` and not yet on the wire. */
  readonly bufferedAmount: number;
  readonly isOpen: boolean;
  send(frame: Uint8Array): void;
  /**
   * Resolves once `bufferedAmount` is at most `lowWaterBytes`; rejects when the transport
   * closes or `timeoutMs` passes first.
   */
  waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<void>;
  /** Called for every frame received, in order. */
  onFrame: ((frame: Uint8Array) => void) | null;
  /** Called once when the transport closes, with the reason when it failed. */
  onClose: ((error: MeshError | null) => void) | null;
  close(): void;
}

/**
 * Two connected in-memory transports. Frames are copied and delivered on a later task, as a
 * real channel does; `bytesPerMs` (optional) makes `bufferedAmount` drain at that rate.
 */
export function memoryTransportPair(opts: { bytesPerMs?: number } = {}): [FrameTransport, FrameTransport] {
  const a = new MemoryTransport(opts.bytesPerMs ?? Infinity);
  const b = new MemoryTransport(opts.bytesPerMs ?? Infinity);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class MemoryTransport implements FrameTransport {
  peer: MemoryTransport | null = null;
  onFrame: ((frame: Uint8Array) => void) | null = null;
  onClose: ((error: MeshError | null) => void) | null = null;
  isOpen = true;
  private buffered = 0;
  private readonly drainWaiters = new Set<() => void>();

  constructor(private readonly bytesPerMs: number) {}

  get bufferedAmount(): number {
    return this.buffered;
  }

  send(frame: Uint8Array): void {
    if (!this.isOpen) throw new MeshError('ERR_DESTROYED', 'send on a closed transport');
    const copy = new Uint8Array(frame);
    this.buffered += copy.byteLength;
    const delayMs = Number.isFinite(this.bytesPerMs) ? this.buffered / this.bytesPerMs : 0;
    setTimeout(() => {
      this.buffered -= copy.byteLength;
      for (const wake of [...this.drainWaiters]) wake();
      if (this.isOpen && this.peer?.isOpen) this.peer.onFrame?.(copy);
    }, delayMs);
  }

  waitForDrain(lowWaterBytes: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.isOpen) finish(new MeshError('ERR_DESTROYED', 'transport closed while waiting to send'));
        else if (this.buffered <= lowWaterBytes) finish(null);
      };
      const timer = setTimeout(() => finish(new MeshError('ERR_TIMEOUT', `send buffer did not drain within ${timeoutMs} ms`)), timeoutMs);
      const finish = (err: MeshError | null) => {
        clearTimeout(timer);
        this.drainWaiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.drainWaiters.add(check);
      check();
    });
  }

  close(): void {
    this.closeWith(null);
    this.peer?.closeWith(new MeshError('ERR_CONNECTION', 'the other side closed the connection'));
  }

  private closeWith(error: MeshError | null): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const wake of [...this.drainWaiters]) wake();
    const onClose = this.onClose;
    this.onClose = null;
    this.onFrame = null;
    onClose?.(error);
  }
}
