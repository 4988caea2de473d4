import type { SignalData } from 'simple-peer';
import type { DeviceInfo } from './control.ts';
import type { LinkOptions } from './link.ts';
import type { SessionOptions } from './session.ts';
import type { WebSocketFactory } from './signaling-client.ts';
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

/** What both ends of the star need injected: the server, the transports, this device. */
export interface MeshEndpointOptions {
  signalingUrl: string;
  createSocket: WebSocketFactory;
  createTransport: PeerTransportFactory;
  /** This device, as told to the other side in the handshake. */
  local: DeviceInfo;
  link?: Partial<LinkOptions>;
  session?: Partial<SessionOptions>;
}
