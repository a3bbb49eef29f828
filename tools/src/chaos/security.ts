// How a chaos run secures its cluster, and how each part of the harness reaches it. Plaintext (the
// default): nodes on a private network (netns) need --insecure. --tls: a PKI made for the run
// (pki.ts), every node with TLS on both ports, client certificates and tokens; the workload's
// clients present the harness's client certificate and the write token, the harness's own calls
// (health checks, Cluster RPCs, anti-entropy status, final reads) the admin token.
import type { ChannelCredentials } from '@grpc/grpc-js';
import { plaintextAccess, tokenAccess, type NodeAccess } from './access.js';
import { createTestPki, hostOf, tokenNames } from './pki.js';
import type { ClientSecurity } from './workloads.js';

export interface RunSecurity {
  readonly tls: boolean;
  /** One line for the report and the log. */
  readonly note: string;
  /** Flags every node gets. */
  readonly clusterArgs: readonly string[];
  /** Flags of one node (its certificate and key), for the launcher. */
  readonly nodeArgs: ((id: string) => readonly string[]) | undefined;
  /** How the launcher's health checks reach the client port (undefined: plaintext). */
  readonly healthCredentials: ChannelCredentials | undefined;
  /** The harness's calls: Cluster RPCs, anti-entropy status, final reads. */
  readonly access: NodeAccess;
  /** The workload's SDK clients. */
  readonly client: ClientSecurity;
  /**
   * Before a node the membership nemesis adds starts, with the address it will listen on
   * (undefined: the launcher's loopback): its certificate, under --tls.
   */
  prepareNode(id: string, address: string | undefined): Promise<void>;
}

/** The host the launcher starts nodes on when the run has no network namespaces. */
export const loopbackHost = '127.0.0.1';

/** What a node's certificate must name: the host of its address, or the launcher's loopback. */
export function certificateHost(address: string | undefined): string {
  return address === undefined ? loopbackHost : hostOf(address);
}

/** Plaintext; `privateNetwork` (netns addresses, not loopback): every node needs --insecure. */
export function plaintextSecurity(privateNetwork: boolean): RunSecurity {
  return {
    tls: false,
    note: privateNetwork
      ? 'plaintext, no tokens (nodes run with --insecure on the private network)'
      : 'plaintext on loopback, no tokens',
    clusterArgs: privateNetwork ? ['--insecure'] : [],
    nodeArgs: undefined,
    healthCredentials: undefined,
    access: plaintextAccess,
    client: {},
    prepareNode: () => Promise.resolve(),
  };
}

/**
 * --tls: makes the CA, a certificate for each of `nodeIds` (naming its address in `addresses`, or
 * loopback), the harness's client certificate and the token file in `dir`.
 */
export async function tlsSecurity(
  dir: string,
  nodeIds: readonly string[],
  addresses: readonly string[] | undefined,
): Promise<RunSecurity> {
  const nodes = nodeIds.map((id, i) => ({ id, host: certificateHost(addresses?.[i]) }));
  const pki = await createTestPki({ dir, nodes });
  return {
    tls: true,
    note:
      'TLS on the client port (client certificates required) and mutual TLS on the peer port, ' +
      `certificates from a CA made for the run (${dir}); bearer tokens: ` +
      `${tokenNames.write} (write) for the workload, ${tokenNames.admin} (admin) for the harness`,
    clusterArgs: [],
    nodeArgs: (id) => pki.nodeArgs(id),
    healthCredentials: pki.channelCredentials,
    access: tokenAccess(pki.channelCredentials, pki.tokens.admin),
    client: { tls: pki.tls, token: pki.tokens.write },
    prepareNode: (id, address) => pki.addNode({ id, host: certificateHost(address) }),
  };
}
