import type { SignalData } from 'simple-peer';
import type { FrameTransport } from './transport.ts';

/** A frame transport that is set up through signaling (WebRTC in the product). */
export interface PeerTransport extends FrameTransport {
  /** Resolves when frames can flow; rejects when the connection fails. */
  readonly connected: Promise<void>;
  /** Feeds a signal relayed from the other side. */
  signal(data: SignalData): void;
}

export interface PeerTransportOptions {
  initiator: boolean;
  iceServers: RTCIceServer[];
  onSignal: (data: SignalData) => void;
}

export type PeerTransportFactory = (options: PeerTransportOptions) => PeerTransport;
