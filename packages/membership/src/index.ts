export type { DetectorOptions, Distribution } from './detector.js';
export type { GossipState, MemberState, MemberStatus } from './gossip-state.js';
export { beat, changedMembers, memberStatuses, mergeState } from './gossip-state.js';
export type { GossipCheckError, GossipCheckErrorCode } from './gossip-check.js';
export { checkGossipState } from './gossip-check.js';
export { pickGossipPeer } from './gossip-peer.js';
export type { LivenessOptions, MemberLiveness, Transition } from './liveness-table.js';
export { LivenessTable, livenessDefaults } from './liveness-table.js';
