/** Peer-to-peer transport of the Raft cluster; see transport.ts for the design. */
export { DEFAULT_MAX_FRAME_BYTES, FrameKind } from "./frame.js";
export { TransportError, type TransportErrorCode } from "./rpc.js";
export {
  type PeerAddress,
  type PeerMap,
  type PeerStats,
  PeerTransport,
  type PeerTransportOptions,
  parsePeerAddress,
  type RequestHandler,
  type TransportStats,
} from "./transport.js";
