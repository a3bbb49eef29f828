// A throwaway PKI for a secured test cluster (the chaos suite's --tls, the bench's ringstore-tls):
// a CA, one certificate per node naming the address it is dialled at, a client certificate the
// harness presents (the nodes require one: --client-cert-auth), and a token file with a write
// token for the workload and an admin token for the harness's Cluster RPCs.
//
// The certificates are made by `ringctl certs` (@ringstore/certs underneath), the commands an
// operator runs (docs/security.md): the tools may not import the I/O packages themselves
// (scope:tools in eslint.config.mjs). The flag and file builders are pure and tested apart.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';

/** ringctl of this checkout (the same path from src/chaos and dist/chaos). */
export const repoRingctlBin = fileURLToPath(
  new URL('../../../apps/ringctl/bin/ringctl.js', import.meta.url),
);

/** Bound on one `ringctl certs` command: it makes one P-256 key and signs once, under a second. */
export const ringctlTimeoutMs = 30_000;
/** Most certificates made at once: one ringctl process each, on a small machine. */
export const issuesInParallelMax = 4;
/** Random bytes of a token: 192 bits, 32 base64url characters (the node takes 16 to 512). */
export const tokenBytes = 24;
/** Name of the harness's client certificate (not a node id: those are n1, n2, ...). */
export const clientCertName = 'harness';
/** The token file's name for each token (what the node's logs and rate limits call them). */
export const tokenNames = { write: 'workload', admin: 'harness' } as const;

/** Where the PKI's files are. */
export interface PkiPaths {
  readonly dir: string;
  readonly ca: string;
  readonly tokens: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export function pkiPaths(dir: string): PkiPaths {
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    tokens: join(dir, 'tokens'),
    clientCert: join(dir, `${clientCertName}.pem`),
    clientKey: join(dir, `${clientCertName}-key.pem`),
  };
}

/**
 * The flags that secure node `id`: TLS on the client port requiring a client certificate signed
 * by the CA, mutual TLS on the peer port, and bearer tokens. Its certificate serves both ports.
 */
export function securedNodeArgs(paths: PkiPaths, id: string): string[] {
  const cert = join(paths.dir, `${id}.pem`);
  const key = join(paths.dir, `${id}-key.pem`);
  return [
    ...['--cert-file', cert, '--key-file', key],
    ...['--trusted-ca-file', paths.ca, '--client-cert-auth'],
    ...['--peer-cert-file', cert, '--peer-key-file', key, '--peer-trusted-ca-file', paths.ca],
    ...['--auth-token-file', paths.tokens],
  ];
}

export interface TestTokens {
  /** For the workload: KV reads and writes. */
  readonly write: string;
  /** For the harness: Cluster RPCs (membership changes, anti-entropy status) and final reads. */
  readonly admin: string;
}

/** The token file: one `TOKEN ROLE NAME` line per token. */
export function tokenFileText(tokens: TestTokens): string {
  return [
    '# made by the test harness for one run (tools/src/chaos/pki.ts)',
    `${tokens.write} write ${tokenNames.write}`,
    `${tokens.admin} admin ${tokenNames.admin}`,
    '',
  ].join('\n');
}

/** The host of `host:port` (`[::1]:port` gives `::1`): what a node's certificate must name. */
export function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  const host = colon < 0 ? address : address.slice(0, colon);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The `ringctl` arguments that make each certificate. */
export const ringctlCerts = {
  ca: (dir: string): string[] => ['certs', 'init', '--dir', dir],
  node: (dir: string, id: string, hosts: readonly string[]): string[] => [
    ...['certs', 'node', '--dir', dir, '--id', id],
    ...hosts.flatMap((host) => ['--host', host]),
  ],
  client: (dir: string, name: string): string[] => [
    'certs',
    'client',
    '--dir',
    dir,
    '--name',
    name,
  ],
};

/** A node and the host (IP address or name) its certificate must name. */
export interface PkiNode {
  readonly id: string;
  readonly host: string;
}

export interface TestPki {
  readonly paths: PkiPaths;
  /** PEM of the CA, and of the harness's client certificate and key (the SDK's `tls`). */
  readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };
  readonly tokens: TestTokens;
  /** Makes the certificate of a node reached at `host`; call it before the node starts. */
  addNode(node: PkiNode): Promise<void>;
  /** The flags that secure node `id` (securedNodeArgs). */
  nodeArgs(id: string): string[];
  /** TLS with the harness's client certificate: for health checks and the harness's RPCs. */
  readonly channelCredentials: ChannelCredentials;
}

export interface CreateTestPkiOptions {
  /** Created if missing; must not hold a CA yet. */
  readonly dir: string;
  /** The nodes to make certificates for now (more later with addNode). */
  readonly nodes: readonly PkiNode[];
  /** Default repoRingctlBin. */
  readonly ringctlBin?: string | undefined;
}

/** Makes the CA, the nodes' and the harness's certificates, and the token file, in `dir`. */
export async function createTestPki(options: CreateTestPkiOptions): Promise<TestPki> {
  const paths = pkiPaths(options.dir);
  const ringctl = (args: readonly string[]): Promise<void> =>
    runRingctl(options.ringctlBin ?? repoRingctlBin, args);
  await ringctl(ringctlCerts.ca(paths.dir));
  const issues = [
    ringctlCerts.client(paths.dir, clientCertName),
    ...options.nodes.map((n) => ringctlCerts.node(paths.dir, n.id, [n.host])),
  ];
  for (let i = 0; i < issues.length; i += issuesInParallelMax)
    await Promise.all(issues.slice(i, i + issuesInParallelMax).map(ringctl));
  const tokens: TestTokens = {
    write: randomBytes(tokenBytes).toString('base64url'),
    admin: randomBytes(tokenBytes).toString('base64url'),
  };
  await writeFile(paths.tokens, tokenFileText(tokens), { mode: 0o600 });
  const [ca, cert, key] = await Promise.all([
    readFile(paths.ca),
    readFile(paths.clientCert),
    readFile(paths.clientKey),
  ]);
  const tls = { ca, cert, key };
  return {
    paths,
    tls,
    tokens,
    addNode: (n) => ringctl(ringctlCerts.node(paths.dir, n.id, [n.host])),
    nodeArgs: (id) => securedNodeArgs(paths, id),
    channelCredentials: credentials.createSsl(tls.ca, tls.key, tls.cert),
  };
}

/** Runs `node ringctl ARGS`; rejects with its output when it fails or outlasts ringctlTimeoutMs. */
function runRingctl(bin: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { timeout: ringctlTimeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) resolve();
        else
          reject(
            new Error(
              `ringctl ${args.slice(0, 2).join(' ')} failed: ${stderr || stdout || error.message}`.trim(),
            ),
          );
      },
    );
  });
}
