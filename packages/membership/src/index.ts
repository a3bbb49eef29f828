export type { Detector, DetectorOptions, DetectorStats, Distribution } from './detector.js';
export {
  detectorStats,
  heartbeat,
  isAvailable,
  newDetector,
  phi,
  windowSizeMax,
} from './detector.js';
export type { GossipState, MemberState, MemberStatus } from './gossip-state.js';
export {
  beat,
  changedMembers,
  compareMember,
  initialState,
  memberStatuses,
  mergeMember,
  mergeState,
  setStatus,
} from './gossip-state.js';
export type { GossipCheckError, GossipCheckErrorCode } from './gossip-check.js';
export {
  addressLengthMax,
  checkGossipState,
  idLengthMax,
  membersMax,
  zoneLengthMax,
} from './gossip-check.js';
export { pickGossipPeer } from './gossip-peer.js';
export type { LivenessOptions, MemberLiveness, Transition } from './liveness-table.js';
export { LivenessTable, livenessDefaults } from './liveness-table.js';
export { AssertionError } from './assert.js';
