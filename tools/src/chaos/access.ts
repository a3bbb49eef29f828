// How the harness reaches a node's client port: plaintext, or TLS with its client certificate and
// a bearer token on every call (the admin token for its Cluster RPCs and final reads).
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';

/** How the harness calls a node's client port: channel credentials, and each call's metadata. */
export interface NodeAccess {
  readonly credentials: ChannelCredentials;
  /** A call's metadata: `authorization: Bearer TOKEN` when the nodes check tokens. */
  metadata(): Metadata;
}

/** Plaintext, no token: a cluster started without --tls. */
export const plaintextAccess: NodeAccess = {
  credentials: credentials.createInsecure(),
  metadata: () => new Metadata(),
};

/** TLS (the harness's client certificate) and a bearer token on every call. */
export function tokenAccess(channelCredentials: ChannelCredentials, token: string): NodeAccess {
  return {
    credentials: channelCredentials,
    metadata: () => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      return metadata;
    },
  };
}
