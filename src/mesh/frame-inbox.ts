/** Frames a peer may send before anyone listens; more means a misbehaving peer. */
export const MAX_EARLY_FRAMES = 256;

/**
 * Where a transport hands its received frames. Frames that arrive before anyone listens are kept
 * and handed over when a handler is set: simple-peer emits 'connect' only after a getStats round
 * trip, and a relay opens its first frame before the link is built, while the other side may
 * already have sent its first message. A peer that sends more than `maxEarly` frames before then
 * is misbehaving: `overflow` is called (the transport closes) and the frame is dropped.
 */
export class FrameInbox {
  private handler: ((frame: Uint8Array) => void) | null = null;
  private early: Uint8Array[] = [];

  constructor(
    private readonly maxEarly: number,
    private readonly overflow: (message: string) => void,
  ) {}

  get onFrame(): ((frame: Uint8Array) => void) | null {
    return this.handler;
  }

  set onFrame(handler: ((frame: Uint8Array) => void) | null) {
    this.handler = handler;
    if (!handler || this.early.length === 0) return;
    // Hand over on a microtask: whoever set the handler (a link being constructed) finishes
    // wiring its own listeners first. No data event can run in between.
    queueMicrotask(() => {
      const early = this.early;
      this.early = [];
      for (const frame of early) {
        if (this.handler !== handler) return;
        handler(frame);
      }
    });
  }

  deliver(frame: Uint8Array): void {
    if (this.handler && this.early.length === 0) this.handler(frame);
    else if (this.early.length >= this.maxEarly) this.overflow(`the peer sent over ${this.maxEarly} frames before the connection was set up`);
    else this.early.push(frame);
  }

  /** Forgets the handler and any kept frames (the transport closed). */
  clear(): void {
    this.handler = null;
    this.early = [];
  }
}
