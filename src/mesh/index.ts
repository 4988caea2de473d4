/**
 * The mesh layer: signaling client, WebRTC peer links, wire codec, membership. Knows nothing of
 * models. Other layers import from this file only.
 */

// Star topology, the two sides
export { OwnerMesh } from './owner-mesh.ts';
export type { OwnerMeshOptions, PeerState, PeerView } from './owner-mesh.ts';
export { WorkerMesh } from './worker-mesh.ts';
export type { MethodHandler, WorkerMeshOptions, WorkerState } from './worker-mesh.ts';

// Links and transports
export { MessageLink, DEFAULT_LINK_OPTIONS } from './link.ts';
export type { LinkOptions, LinkStats, Reply, RequestHandler, RequestOptions, SendOptions } from './link.ts';
export { RtcTransport } from './rtc-transport.ts';
export { memoryTransportPair } from './transport.ts';
export type { FrameTransport } from './transport.ts';
export type { PeerTransport, PeerTransportFactory, PeerTransportOptions, RelayMode, RelayOptions } from './peer-transport.ts';
export { DEFAULT_RELAY_OPTIONS } from './peer-transport.ts';

// Membership
export { PeerSession, APP_VERSION } from './session.ts';
export type { SessionAuth, SessionOptions, SessionState } from './session.ts';
export { fingerprintsOf, shortAuthCode } from './channel-auth.ts';
export type { ChannelBinding } from './channel-auth.ts';
export { MESH_PROTOCOL_VERSION, BACKENDS } from './control.ts';
export type { BackendName, DeviceInfo } from './control.ts';
export { describeThisDevice, deviceNameFromUserAgent } from './device-info.ts';
export { probeThroughput, PROBE_METHOD } from './probe.ts';
export type { ProbeResult } from './probe.ts';

// Rooms and signaling
export { SignalingClient, signalingUrlFor } from './signaling-client.ts';
export type { RoomEntry, SignalingState, WebSocketFactory } from './signaling-client.ts';
export { newRoomCredentials, joinLink, parseJoinFragment, isRoomCredentials, joinTokenFor, ownerTokenFor } from './room-credentials.ts';
export type { RoomCredentials } from './room-credentials.ts';

// Wire format
export { MessageKind, WIRE_VERSION, wireTensor, elementCount, DEFAULT_WIRE_LIMITS, MAX_CHUNK_BYTES } from './wire/index.ts';
export type { DType, IncomingMessage, OutgoingMessage, TensorData, WireLimits, WireTensor } from './wire/index.ts';
