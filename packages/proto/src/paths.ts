import { fileURLToPath } from 'node:url';

/** Directory holding the .proto sources (for dynamic loaders such as server reflection). */
export const protoRoot: string = fileURLToPath(new URL('../../../proto', import.meta.url));

/** The .proto files, relative to protoRoot, of the client port's services (KV, Cluster). */
export const clientProtoFiles: readonly string[] = [
  'ringstore/v1/kv.proto',
  'ringstore/v1/cluster.proto',
];

/** The .proto files, relative to protoRoot, that make up the public and internal API. */
export const publicProtoFiles: readonly string[] = [...clientProtoFiles, 'ringstore/v1/peer.proto'];
