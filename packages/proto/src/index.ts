// @ringstore/proto: messages and grpc-js service definitions generated from proto/ by ts-proto.
// The generated files under src/gen are never edited by hand: `npm run proto` regenerates them.
export * from './gen/ringstore/v1/kv.js';
export * from './gen/ringstore/v1/cluster.js';
export * from './gen/ringstore/v1/peer.js';
// Every generated file declares these helpers; name the one copy re-exported.
export { protobufFileName, protobufPackage } from './gen/ringstore/v1/kv.js';
export type { DeepPartial, MessageFns } from './gen/ringstore/v1/kv.js';
export { clientProtoFiles, protoRoot, publicProtoFiles } from './paths.js';
