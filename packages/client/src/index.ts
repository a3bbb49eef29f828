// @ringstore/client: the smart client SDK (ring cache, zero-hop routing, safe retries,
// read-modify-write). See README.md.
export type { Bytes } from './bytes.js';
export type {
  ClientStats,
  DeleteOptions,
  GetOptions,
  GetResult,
  MergeFunction,
  PutManyOptions,
  PutOptions,
  PutResult,
  Sibling,
  UpdateOptions,
  WriteItem,
} from './client.js';
export type { ItemResult } from './batch.js';
export { batchGetItemsMax, batchPutItemsMax, manyItemsMax } from './batch.js';
export { Client, connect } from './client.js';
export type { NodeRequestStats } from './dispatch.js';
export type { RingstoreClientErrorFields } from './errors.js';
export {
  OverloadedError,
  PermissionDeniedError,
  RingstoreClientError,
  UnauthenticatedError,
  failureTrailer,
  rateLimitRemainingTrailer,
  rateLimitTrailer,
  retryAfterTrailer,
} from './errors.js';
export type { ConnectOptions, RoutingMode } from './options.js';
export type { TlsOptions } from './transport.js';
export { sessionStub, unaryStub, type KvStub } from './session.js';
export {
  attemptsMaxDefault,
  channelOptionsDefault,
  deadlineMsDefault,
  failedNodeMemoryMsDefault,
  ringRefreshMsDefault,
} from './options.js';
export type {
  ClientRing,
  RingNode,
  RingNodeStatus,
  RingTransfer,
  RingVersion,
} from './ring-view.js';
export { ringTermHeader, ringVersionHeader } from './unary.js';
export { AssertionError } from './assert.js';
