/**
 * Turns a real worker page hostile from the outside, with no backdoor in the product: an init
 * script wraps RTCDataChannel.prototype.send, so the test can put its own bytes on the page's data
 * channel in place of the page's next large frame, a task's result (`arm`). The garbage follows the wire format (src/mesh/wire/frame.ts) where that
 * gets it past the first checks. `lieInTensors`, for the result-check tests, is subtler: it keeps
 * every frame well formed and changes one number in each float result.
 */

/** What the hostile page can be told to send. */
export type GarbageKind =
  /** A tensor descriptor of shape [65536, 65536, 65536] behind a valid header. */
  | 'absurd-shape'
  /** A header that claims a body of 4 GiB. */
  | 'oversized'
  /** Fewer bytes than a frame header. */
  | 'truncated'
  /** Random bytes behind a valid version, kind and flags. */
  | 'random';

export interface HostileControls {
  /** In place of the page's next large frame (a task's result), sends these kinds, in order. */
  arm(kinds: GarbageKind[]): void;
  /** Bursts of garbage sent so far. */
  readonly fired: number;
}

/**
 * The wire layout both init scripts below rely on, written once (src/mesh/wire/frame.ts): a frame's
 * header length and the kind byte of a response. Init scripts are serialised, so it is passed to
 * them as their argument: `page.addInitScript(script, WIRE)`.
 */
export const WIRE = { headerBytes: 24, responseKind: 8 } as const;
export type WireLayout = typeof WIRE;

/**
 * The init script (Playwright serialises it, so it must not use anything from outside itself but
 * its argument, WIRE). Exposes `window.hostile` (HostileControls).
 */
export function installHostileChannelTap(wire: WireLayout): void {
  const HEADER_BYTES = wire.headerBytes;
  const RESPONSE_KIND = wire.responseKind;
  const channels: RTCDataChannel[] = [];
  const state: { armed: GarbageKind[] | null; fired: number } = { armed: null, fired: 0 };
  const realSend = Object.getOwnPropertyDescriptor(RTCDataChannel.prototype, 'send')?.value as (this: RTCDataChannel, data: ArrayBufferView) => void;

  const frame = (totalBytes: number, body: Uint8Array): Uint8Array => {
    const bytes = new Uint8Array(HEADER_BYTES + body.length);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, 1); // wire version
    view.setUint8(1, RESPONSE_KIND);
    view.setUint32(4, 0x7fff_fff0, true); // a message id the page never uses
    view.setUint32(8, 1, true);
    view.setUint32(12, totalBytes, true);
    view.setUint32(16, 0, true); // chunk 0…
    view.setUint32(20, 1, true); // …of 1
    bytes.set(body, HEADER_BYTES);
    return bytes;
  };
  const garbage = (kind: GarbageKind): Uint8Array[] => {
    switch (kind) {
      case 'absurd-shape': {
        const meta = new TextEncoder().encode('{"computeMs":1,"computeStartMs":0,"computeEndMs":1}');
        const metaPadded = (meta.length + 3) & ~3;
        const body = new Uint8Array(4 + metaPadded + 4 + 4 + 12);
        const view = new DataView(body.buffer);
        view.setUint32(0, meta.length, true);
        body.set(meta, 4);
        let at = 4 + metaPadded;
        view.setUint32(at, 1, true); // one tensor
        at += 4;
        view.setUint8(at, 1); // float32
        view.setUint8(at + 1, 3); // rank 3
        for (let d = 0; d < 3; d++) view.setUint32(at + 4 + 4 * d, 65_536, true);
        return [frame(body.length, body)];
      }
      case 'oversized':
        return [frame(0xffff_ffff, new Uint8Array(64))];
      case 'truncated':
        return [frame(16, new Uint8Array(16)).slice(0, 10)];
      case 'random': {
        const bytes = crypto.getRandomValues(new Uint8Array(2_000));
        bytes.set([1, RESPONSE_KIND, 0, 0]); // version, kind, no flags
        return [bytes];
      }
    }
  };
  const burst = (channel: RTCDataChannel, kinds: GarbageKind[]): void => {
    // The owner drops the page at the first bad frame; the rest must not hurt it either.
    for (const bytes of kinds.flatMap(garbage)) if (channel.readyState === 'open') realSend.call(channel, bytes);
    state.fired++;
  };

  RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: ArrayBufferView) {
    if (!channels.includes(this)) channels.push(this);
    const kinds = state.armed;
    if (kinds && typeof data === 'object' && data.byteLength >= 1_024) {
      // In place of the page's own result: the owner gets garbage while its image is in progress.
      state.armed = null;
      burst(this, kinds);
      return;
    }
    realSend.call(this, data);
  } as typeof RTCDataChannel.prototype.send;

  const controls: HostileControls = {
    arm: (kinds) => (state.armed = kinds),
    get fired() {
      return state.fired;
    },
  };
  (window as unknown as { hostile: HostileControls }).hostile = controls;
}

/**
 * Runs in the liar's page before the app: a response frame (WIRE.responseKind) whose first tensor is float32
 * gets its last float (the last 4 bytes of the message's last chunk) moved by 100. Header and
 * descriptors are untouched, so the message still parses; only a number is wrong. Layout:
 * src/mesh/wire/frame.ts (header, WIRE) and message.ts (body). Serialised like the tap above: WIRE
 * is its argument.
 */
export function lieInTensors(wire: WireLayout): void {
  const HEADER = wire.headerBytes;
  const floatMessages = new Set<number>();
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the channel as `this` below
  const send = RTCDataChannel.prototype.send;
  const bytesOf = (data: unknown): Uint8Array | null =>
    data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
  RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: Parameters<RTCDataChannel['send']>[0]) {
    const bytes = bytesOf(data);
    if (bytes && bytes.byteLength > HEADER + 8 && bytes[1] === wire.responseKind) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const messageId = view.getUint32(4, true);
      const chunkIndex = view.getUint32(16, true);
      const chunkCount = view.getUint32(20, true);
      if (chunkIndex === 0) {
        const metaBytes = view.getUint32(HEADER, true);
        const countAt = HEADER + 4 + ((metaBytes + 3) & ~3);
        if (countAt + 5 <= bytes.byteLength && view.getUint32(countAt, true) > 0 && view.getUint8(countAt + 4) === 1) floatMessages.add(messageId);
      }
      if (chunkIndex === chunkCount - 1 && floatMessages.delete(messageId)) {
        const copy = bytes.slice();
        const at = copy.byteLength - 4;
        const copyView = new DataView(copy.buffer);
        copyView.setFloat32(at, copyView.getFloat32(at, true) + 100, true);
        send.call(this, copy);
        return;
      }
    }
    send.call(this, data as never);
  } as RTCDataChannel['send'];
}
