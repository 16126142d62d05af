export { RPC_CALL, RPC_CALL_ERROR, RPC_CALLS, RPC_HANDSHAKE, RPC_PROTOCOL_MAX, RPC_V0_LAST_CALL, type RpcCall } from './calls.js';
export { FRAME_HEADER_BYTES, type Frame, FrameDecoder, type FrameLimits, encodeFrame } from './frames.js';
export { RpcConnection, type RpcConnectionOptions, signatureParts } from './server.js';
export {
  type MechanismFormat,
  WIRE_MAX_ARRAY,
  WIRE_MAX_ATTRIBUTE_DEPTH,
  WIRE_NULL_ARRAY,
  WIRE_NULL_MECHANISM,
  type WireAttribute,
  type WireAttributeRequest,
  WireError,
  type WireMechanism,
  type WireMechanismParameter,
  WireReader,
  type WireValueKind,
  WireWriter,
  mechanismFormatFor,
  mechanismHasNoParameter,
  wireValueKind,
} from './wire.js';
