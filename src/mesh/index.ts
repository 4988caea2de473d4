/**
 * The mesh layer: signaling client, WebRTC peer links, wire codec, membership. Knows nothing of
 * models. Other layers import from this file only; it exports what they use.
 */

// Star topology, the two sides
export { OwnerMesh } from './owner-mesh.ts';
export type { PeerView } from './owner-mesh.ts';
export { WorkerMesh } from './worker-mesh.ts';
export type { MethodHandler, WorkerState } from './worker-mesh.ts';
// Worker↔worker links (WorkerMesh.connectNeighbour and its kin)
export { DEFAULT_NEIGHBOUR_TIMEOUT_MS } from './neighbours.ts';
export type { NeighbourEvent } from './neighbours.ts';

// Links and transports
export { MessageLink, DEFAULT_LINK_OPTIONS } from './link.ts';
export type { LinkStats, Reply, RequestOptions } from './link.ts';
export { RtcTransport } from './rtc-transport.ts';
export { memoryTransportPair } from './transport.ts';
export type { PeerTransportFactory, RelayMode } from './peer-transport.ts';
export { DEFAULT_RELAY_OPTIONS } from './peer-transport.ts';

// Membership
export { describeThisDevice } from './device-info.ts';

// Rooms and signaling
export { signalingUrlFor } from './signaling-client.ts';
export type { WebSocketFactory } from './signaling-client.ts';
export { newRoomCredentials, parseJoinFragment, isRoomCredentials } from './room-credentials.ts';
export type { RoomCredentials } from './room-credentials.ts';

// Wire format
export { MessageKind, wireTensor, MAX_CHUNK_BYTES } from './wire/index.ts';
export type { IncomingMessage, WireTensor } from './wire/index.ts';
