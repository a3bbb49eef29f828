import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Directory holding the .proto sources (for dynamic loaders such as server reflection). */
const packagedProtoRoot = fileURLToPath(new URL('../proto', import.meta.url));
const workspaceProtoRoot = fileURLToPath(new URL('../../../proto', import.meta.url));
/**
 * The directory of the .proto files: inside the package when it is installed from a tarball
 * (`npm run pack` copies them there, tools/src/pack.ts), else the repository's proto/.
 */
export const protoRoot: string = existsSync(packagedProtoRoot)
  ? packagedProtoRoot
  : workspaceProtoRoot;

/** The .proto files, relative to protoRoot, of the client port's services (KV, Cluster). */
export const clientProtoFiles: readonly string[] = [
  'ringstore/v1/kv.proto',
  'ringstore/v1/cluster.proto',
];

/** The .proto files, relative to protoRoot, that make up the public and internal API. */
export const publicProtoFiles: readonly string[] = [...clientProtoFiles, 'ringstore/v1/peer.proto'];
