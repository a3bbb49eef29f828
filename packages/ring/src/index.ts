export { membersMax } from './limits.js';
export type { Member, Ring, RingOptions } from './ring.js';
export { validateRing } from './ring.js';
export { partitionOf } from './partition.js';
export { claim } from './claim.js';
export type { PreferenceEntry } from './preference-list.js';
export { partitionsReplicatedBy, preferenceList, primaryReplicas } from './preference-list.js';
export type { Transfer } from './transfer-plan.js';
export { transferPlan } from './transfer-plan.js';
