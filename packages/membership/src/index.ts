export type { DetectorOptions, Distribution } from './detector.js';
export type { GossipState, MemberState, MemberStatus } from './gossip-state.js';
export { beat, changedMembers, memberStatuses, mergeState } from './gossip-state.js';
export type { GossipCheckError, GossipCheckErrorCode } from './gossip-check.js';
export { checkGossipState } from './gossip-check.js';
export { pickGossipPeers } from './gossip-peer.js';
export type { LivenessOptions, MemberLiveness, Transition } from './liveness-table.js';
export { LivenessTable, livenessDefaults } from './liveness-table.js';
export type {
  DocumentProblem,
  DocumentProblemCode,
  MergeOutcome,
  NewCluster,
  NodeStatus,
  PartitionTransfer,
  RingDocument,
  RingNode,
  RingVersion,
  TransferState,
} from './ring-document.js';
export {
  checkRingDocument,
  compareVersions,
  defaultPeerAddress,
  initialDocument,
  lastChange,
  mergeDocument,
  nodeStatuses,
  transferStates,
} from './ring-document.js';
export type {
  ChangeCommand,
  ChangeRefusal,
  CommitOutcome,
  Plan,
  StageOutcome,
  Staged,
} from './staging.js';
export { commit, plan, relabel, stage, stagedChangesMax } from './staging.js';
export type { PartitionReplicas, TransitionOutcome } from './transition.js';
export { advanceTransfers, completeTransition, partitionReplicas } from './transition.js';
export type { ClaimantView } from './claimant.js';
export { barrierHolds, claimantStep, transferParties } from './claimant.js';
export { cancelTransition, handOverClaimant, takeOverClaimant } from './claimant-move.js';
