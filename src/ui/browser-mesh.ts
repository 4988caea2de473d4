/** The browser's implementations of the mesh's injected pieces (WebSocket, WebRTC). */
import { RtcTransport, signalingUrlFor, type PeerTransportFactory, type WebSocketFactory } from '../mesh/index.ts';

export const createSocket: WebSocketFactory = (url) => new WebSocket(url) as unknown as ReturnType<WebSocketFactory>;
export const createTransport: PeerTransportFactory = (options) => new RtcTransport(options);
export const signalingUrl = (): string => signalingUrlFor(location);
