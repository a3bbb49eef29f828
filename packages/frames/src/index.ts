// Many requests over one stream: the framing shared by the peer link between nodes
// (apps/storage-node/src/peer/link.ts) and the SDK's pipelined session to a node
// (packages/client/src/session.ts). Messages queued during one turn of the event loop travel
// together in frames cut to a count and a byte budget; calls in flight are matched to their
// replies by id, each with its own deadline, and all fail at once when the stream breaks.
// Transport-free: the caller writes the frames and feeds the replies back.
export { FrameOutbox, takeFrame, type FrameLimits } from './outbox.js';
export { PendingCalls, type Expiry } from './pending.js';
