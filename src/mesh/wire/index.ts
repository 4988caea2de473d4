export { WIRE_VERSION, MessageKind, FRAME_HEADER_BYTES, decodeFrame } from './frame.ts';
export type { Frame, FrameHeader } from './frame.ts';
export { encodeBody, decodeBody, wireTensor, elementCount } from './message.ts';
export type { DType, TensorData, WireTensor } from './message.ts';
export { encodeFrames, encodeMessage, Reassembler } from './codec.ts';
export type { IncomingMessage, OutgoingMessage } from './codec.ts';
export { DEFAULT_WIRE_LIMITS, DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES } from './limits.ts';
export type { WireLimits } from './limits.ts';
