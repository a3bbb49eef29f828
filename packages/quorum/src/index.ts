export type { ObjectOps, QuorumFailure } from './types.js';
export { targetsMax } from './types.js';
export { AssertionError } from './assert.js';
export type { PutEffect, PutEvent, PutOptions, PutResult, PutState, PutStep } from './put.js';
export { startPut, stepPut } from './put.js';
export type { GetEffect, GetEvent, GetOptions, GetResult, GetState, GetStep } from './get.js';
export { startGet, stepGet } from './get.js';
export type { HedgeOptions } from './hedge.js';
export { HedgeDelay, hedgeDefaults } from './hedge.js';
