import type { SignalData } from 'simple-peer';
import type { ChannelBinding } from './channel-auth.ts';
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
  /**
   * What identifies this connection's two ends, each as this side sees it (the DTLS fingerprints
   * from the local and remote SDP; a relay session's nonces): the join proof is bound to it. Null
   * before the connection is up, or when the transport cannot tell (it is then refused).
   */
  channelBinding(): ChannelBinding | null;
  /** Whether frames go through the signaling server rather than straight to the peer. */
  readonly relayed: boolean;
}

export interface PeerTransportOptions {
  initiator: boolean;
  iceServers: RTCIceServer[];
  onSignal: (data: SignalData) => void;
}

export type PeerTransportFactory = (options: PeerTransportOptions) => PeerTransport;

export type RelayMode =
  /** Relay through the server when no direct link is up within `directTimeoutMs`. */
  | 'auto'
  /** Always relay (tests; networks known to block peer-to-peer traffic). */
  | 'force'
  /** Never relay. */
  | 'off';

export interface RelayOptions {
  mode: RelayMode;
  /** How long the owner waits for a direct link before it relays. Default 6 s. */
  directTimeoutMs: number;
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = { mode: 'auto', directTimeoutMs: 6_000 };

/** What both ends of the star need injected: the server, the transports, this device. */
export interface MeshEndpointOptions {
  signalingUrl: string;
  createSocket: WebSocketFactory;
  createTransport: PeerTransportFactory;
  /** This device, as told to the other side in the handshake. */
  local: DeviceInfo;
  link?: Partial<LinkOptions>;
  session?: Partial<SessionOptions>;
  /** The fallback through the server; the owner decides, a worker follows. */
  relay?: Partial<RelayOptions>;
}
