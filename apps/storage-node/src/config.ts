import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { defaultPeerAddress } from '@ringstore/membership';

/** Hard ceilings no configuration may exceed (DESIGN.md section 2). */
export const keyBytesCeiling = 4 * 1024 * 1024;
export const valueBytesCeiling = 4 * 1024 * 1024;
/** Partitions above this make claim and per-partition state too large to be useful. */
export const partitionCountMax = 65_536;
/** Replicas per key above this are not a Dynamo-style deployment. */
export const replicasMax = 16;
/** Largest --cache-mb: 16 GiB, the storage engine's own bound on cache_size. */
export const cacheMbMax = 16 * 1024;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const logFormats = ['auto', 'json', 'pretty'] as const;

export interface NodeAddress {
  readonly id: string;
  /** host:port of the client port. */
  readonly address: string;
  /** host:port of the peer port; absent: the client port + 1. */
  readonly peerAddress?: string | undefined;
}

export interface NodeConfig {
  readonly id: string;
  readonly listen: string;
  /** Where the Peer service listens (node-to-node traffic); default: the client port + 1. */
  readonly peerListen: string;
  readonly data: string;
  /** Creates a new cluster of these nodes; empty when the node joins through --seeds. */
  readonly nodes: readonly NodeAddress[];
  /** host:port of nodes of an existing cluster to learn the ring from (a node to be joined). */
  readonly seeds: readonly string[];
  readonly transferConcurrency: number;
  /** Objects per second a node receives in transfers; 0: unlimited. */
  readonly transferRate: number;
  /** Bytes per second a node receives in transfers; 0: unlimited. */
  readonly transferBytesRate: number;
  /** A receiving node down this long makes the claimant cancel the transition (before its flip). */
  readonly transferStallMs: number;
  /**
   * Test only (the chaos suite's self-test): a receiver skips the Merkle catch-up, so writes that
   * reached only the old replicas during streaming are lost at the flip. Never in production.
   */
  readonly unsafeSkipCatchUp: boolean;
  readonly replicas: number;
  readonly partitions: number;
  readonly r: number;
  readonly w: number;
  readonly requestTimeoutMs: number;
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  readonly synchronous: 'normal' | 'full';
  /** SQLite's page cache of the node's database, MiB (cache_size). */
  readonly cacheMb: number;
  /** quorum: a get reads R replicas (its own first), more on a failure or after their p95; all: every replica. */
  readonly readFanout: 'quorum' | 'all';
  readonly logLevel: (typeof logLevels)[number];
  /** auto: pretty (local times) on a terminal, JSON lines otherwise. */
  readonly logFormat: (typeof logFormats)[number];
  /** Stop (gracefully, then hard) when stdin, a pipe from the parent process, reaches EOF. */
  readonly exitWithParent: boolean;
  /** host:port of the HTTP admin server: /metrics, /healthz, the web console and its /api. */
  readonly adminListen: string;
  readonly shutdownTimeoutMs: number;
  readonly zone: string;
  readonly gossipIntervalMs: number;
  readonly phiThreshold: number;
  readonly hintAgeMaxMs: number;
  readonly hintsPerTargetMax: number;
  readonly handoffRate: number;
  readonly aeIntervalMs: number;
  readonly aeRate: number;
  readonly tombstoneGraceMs: number;
  /** Client port TLS: certificate and key files ('' = plaintext). */
  readonly certFile: string;
  readonly keyFile: string;
  /** CA that client certificates must be signed by (with clientCertAuth). */
  readonly trustedCaFile: string;
  /** Require a client certificate signed by trustedCaFile on the client port. */
  readonly clientCertAuth: boolean;
  /** Peer port mTLS: this node's certificate and key, and the cluster CA (all three, or none). */
  readonly peerCertFile: string;
  readonly peerKeyFile: string;
  readonly peerTrustedCaFile: string;
  /** Allows plaintext on a non-loopback address (logged as a warning). */
  readonly insecure: boolean;
  /** Bearer tokens with roles ('' = no authentication). */
  readonly authTokenFile: string;
  /** NAME=OPS_PER_S[:BURST] per token name ('*' or 'default': everyone else). */
  readonly rateLimit: readonly string[];
  /** Client requests in progress at once; beyond: RESOURCE_EXHAUSTED. */
  readonly maxInflightRequests: number;
  /** Bytes of client requests in progress at once; beyond: RESOURCE_EXHAUSTED. */
  readonly maxInflightBytes: number;
}

/** Whether a host:port listens only on the loopback interface. */
export function isLoopback(hostPort: string): boolean {
  const host = hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A configuration problem: reported to the operator with exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')
  .refine((s) => Number(s.split(':').pop()) <= 65_535, 'port must be at most 65535');

function parseNodes(list: string): NodeAddress[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new ConfigError(`--nodes: "${entry}" is not ID=CLIENT_ADDR[/PEER_ADDR]`);
      const [address = '', peerAddress, ...rest] = entry.slice(eq + 1).split('/');
      if (rest.length > 0)
        throw new ConfigError(`--nodes: "${entry}" is not ID=CLIENT_ADDR[/PEER_ADDR]`);
      const id = entry.slice(0, eq);
      return peerAddress === undefined ? { id, address } : { id, address, peerAddress };
    });
}

const schema = z
  .object({
    id: z
      .string()
      .regex(idPattern, 'must be 1-64 letters, digits, _ . - (starting with a letter or digit)'),
    listen: hostPort,
    peerListen: z.union([z.literal(''), hostPort]),
    data: z.string().min(1),
    nodes: z.array(
      z.object({
        id: z.string().regex(idPattern, 'bad node id'),
        address: hostPort,
        peerAddress: hostPort.optional(),
      }),
    ),
    seeds: z.array(hostPort).max(64),
    transferConcurrency: z.number().int().min(1).max(64),
    transferRate: z.number().int().min(0).max(100_000_000),
    transferBytesRate: z.number().int().min(0).max(100_000_000_000),
    transferStallMs: z
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3_600_000),
    unsafeSkipCatchUp: z.enum(['true', 'false']).transform((v) => v === 'true'),
    replicas: z.number().int().min(1).max(replicasMax),
    partitions: z
      .number()
      .int()
      .min(1)
      .max(partitionCountMax)
      .refine((q) => (q & (q - 1)) === 0, 'must be a power of two'),
    r: z.number().int().min(1),
    w: z.number().int().min(1),
    requestTimeoutMs: z.number().int().min(10).max(600_000),
    keyBytesMax: z.number().int().min(1).max(keyBytesCeiling),
    valueBytesMax: z.number().int().min(0).max(valueBytesCeiling),
    synchronous: z.enum(['normal', 'full']),
    cacheMb: z.number().int().min(1).max(cacheMbMax),
    readFanout: z.enum(['quorum', 'all']),
    logLevel: z.enum(logLevels),
    logFormat: z.enum(logFormats),
    exitWithParent: z.boolean(),
    adminListen: z.union([z.literal(''), hostPort]),
    shutdownTimeoutMs: z.number().int().min(0).max(600_000),
    zone: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9_.-]*$/, 'must be letters, digits, _ . - (or empty)'),
    gossipIntervalMs: z.number().int().min(50).max(60_000),
    phiThreshold: z.number().int().min(1).max(32),
    hintAgeMaxMs: z
      .number()
      .int()
      .min(1_000)
      .max(30 * 24 * 3_600_000),
    hintsPerTargetMax: z.number().int().min(1).max(10_000_000),
    handoffRate: z.number().int().min(1).max(1_000_000),
    aeIntervalMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3_600_000),
    aeRate: z.number().int().min(1).max(1_000_000),
    tombstoneGraceMs: z
      .number()
      .int()
      .min(0)
      .max(365 * 24 * 3_600_000),
    certFile: z.string(),
    keyFile: z.string(),
    trustedCaFile: z.string(),
    clientCertAuth: z.boolean(),
    peerCertFile: z.string(),
    peerKeyFile: z.string(),
    peerTrustedCaFile: z.string(),
    insecure: z.boolean(),
    authTokenFile: z.string(),
    rateLimit: z.array(z.string()).max(10_000),
    maxInflightRequests: z.number().int().min(1).max(1_000_000),
    maxInflightBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(64 * 1024 * 1024 * 1024),
  })
  .superRefine((c, ctx) => {
    checkTls(c, ctx);
    const peerListen = c.peerListen === '' ? defaultPeerAddress(c.listen) : c.peerListen;
    if (peerListen === c.listen && !c.listen.endsWith(':0'))
      ctx.addIssue({
        code: 'custom',
        path: ['peerListen'],
        message: `must differ from --listen (${c.listen}): the peer port is its own port`,
      });
    const addresses = new Map<string, string>();
    for (const n of c.nodes)
      for (const a of [n.address, n.peerAddress ?? defaultPeerAddress(n.address)]) {
        const holder = addresses.get(a);
        if (holder !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['nodes'],
            message: `address ${a} given twice (${holder} and ${n.id})`,
          });
        addresses.set(a, n.id);
      }
    const ids = new Set<string>();
    for (const n of c.nodes) {
      if (ids.has(n.id))
        ctx.addIssue({ code: 'custom', path: ['nodes'], message: `node ${n.id} named twice` });
      ids.add(n.id);
    }
    if (c.nodes.length > 0 && c.seeds.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['seeds'],
        message: 'give --nodes (a new cluster) or --seeds (join an existing one), not both',
      });
    else if (c.nodes.length === 0 && c.seeds.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['nodes'],
        message: 'give --nodes (a new cluster) or --seeds (join an existing one)',
      });
    else if (c.seeds.length === 0 && !ids.has(c.id))
      ctx.addIssue({
        code: 'custom',
        path: ['nodes'],
        message: `must include this node (${c.id})`,
      });
    if (c.r > c.replicas)
      ctx.addIssue({
        code: 'custom',
        path: ['r'],
        message: `must be at most replicas (${c.replicas})`,
      });
    if (c.w > c.replicas)
      ctx.addIssue({
        code: 'custom',
        path: ['w'],
        message: `must be at most replicas (${c.replicas})`,
      });
    if (c.partitions < c.replicas)
      ctx.addIssue({
        code: 'custom',
        path: ['partitions'],
        message: `must be at least replicas (${c.replicas})`,
      });
  });

/** TLS flags come in working sets; plaintext only on loopback unless --insecure. */
function checkTls(
  c: {
    listen: string;
    peerListen: string;
    certFile: string;
    keyFile: string;
    trustedCaFile: string;
    clientCertAuth: boolean;
    peerCertFile: string;
    peerKeyFile: string;
    peerTrustedCaFile: string;
    insecure: boolean;
  },
  ctx: z.RefinementCtx,
): void {
  const issue = (path: string, message: string): void =>
    ctx.addIssue({ code: 'custom', path: [path], message });
  if ((c.certFile === '') !== (c.keyFile === ''))
    issue('certFile', 'give both --cert-file and --key-file, or neither');
  if (c.clientCertAuth && (c.trustedCaFile === '' || c.certFile === ''))
    issue('clientCertAuth', 'needs --cert-file, --key-file and --trusted-ca-file');
  if (c.trustedCaFile !== '' && c.certFile === '')
    issue('trustedCaFile', 'needs --cert-file and --key-file (client TLS)');
  const peer = [c.peerCertFile, c.peerKeyFile, c.peerTrustedCaFile];
  if (peer.some((f) => f !== '') && peer.some((f) => f === ''))
    issue(
      'peerCertFile',
      'peer mTLS needs all of --peer-cert-file, --peer-key-file and --peer-trusted-ca-file',
    );
  if (c.insecure) return;
  if (c.certFile === '' && !isLoopback(c.listen))
    issue(
      'listen',
      `${c.listen} is not a loopback address: give --cert-file/--key-file (TLS), or --insecure to serve plaintext anyway`,
    );
  const peerListen = c.peerListen === '' ? defaultPeerAddress(c.listen) : c.peerListen;
  if (c.peerCertFile === '' && !isLoopback(peerListen))
    issue(
      'peerListen',
      `${peerListen} is not a loopback address: give --peer-cert-file/--peer-key-file/--peer-trusted-ca-file (mTLS), or --insecure to serve plaintext anyway`,
    );
}

interface FlagSpec {
  readonly key: keyof NodeConfig;
  readonly flag: string;
  readonly help: string;
  readonly kind: 'string' | 'int' | 'nodes' | 'list' | 'bool';
  readonly fallback?: string | number;
  /** Older names of the flag, still accepted (flag, environment and camelCase file key). */
  readonly aliases?: readonly string[];
}

const flagSpecs: readonly FlagSpec[] = [
  { key: 'id', flag: 'id', help: 'this node id (stable across restarts)', kind: 'string' },
  {
    key: 'listen',
    flag: 'listen',
    help: 'gRPC listen address host:port',
    kind: 'string',
    fallback: '127.0.0.1:7001',
  },
  {
    key: 'peerListen',
    flag: 'peer-listen',
    help: 'listen address host:port of the peer port (node-to-node traffic; default: the --listen port + 1)',
    kind: 'string',
    fallback: '',
  },
  { key: 'data', flag: 'data', help: 'data directory (SQLite database)', kind: 'string' },
  {
    key: 'nodes',
    flag: 'nodes',
    help: 'creates a new cluster of these members: ID=CLIENT_ADDR[/PEER_ADDR],... (this node included; the peer port defaults to the client port + 1)',
    kind: 'nodes',
    fallback: '',
  },
  {
    key: 'seeds',
    flag: 'seeds',
    help: 'peer addresses host:port,... of nodes of an existing cluster: learn the ring there, wait to be joined',
    kind: 'list',
    fallback: '',
  },
  {
    key: 'transferConcurrency',
    flag: 'transfer-concurrency',
    help: 'partition transfers a node takes part in at once (in and out)',
    kind: 'int',
    fallback: 2,
  },
  {
    key: 'transferRate',
    flag: 'transfer-rate',
    help: 'objects per second a node receives in transfers (0 = unlimited)',
    kind: 'int',
    fallback: 0,
  },
  {
    key: 'transferBytesRate',
    flag: 'transfer-bytes-rate',
    help: 'bytes per second a node receives in transfers (0 = unlimited)',
    kind: 'int',
    fallback: 0,
  },
  {
    key: 'transferStallMs',
    flag: 'transfer-stall-ms',
    help: 'a receiving node down this long makes the claimant cancel the transition (before its flip)',
    kind: 'int',
    fallback: 600_000,
  },
  {
    key: 'unsafeSkipCatchUp',
    flag: 'unsafe-skip-catch-up',
    help: 'TEST ONLY: skip the Merkle catch-up of transfers (loses writes; for the chaos self-test)',
    kind: 'string',
    fallback: 'false',
  },
  { key: 'replicas', flag: 'replicas', help: 'N: replicas per key', kind: 'int', fallback: 3 },
  {
    key: 'partitions',
    flag: 'partitions',
    help: 'Q: partitions (power of two, fixed at cluster creation)',
    kind: 'int',
    fallback: 256,
  },
  { key: 'r', flag: 'r', help: 'default read quorum R', kind: 'int', fallback: 2 },
  { key: 'w', flag: 'w', help: 'default write quorum W', kind: 'int', fallback: 2 },
  {
    key: 'requestTimeoutMs',
    flag: 'request-timeout-ms',
    help: 'server-side deadline of a request',
    kind: 'int',
    fallback: 1000,
  },
  {
    key: 'keyBytesMax',
    flag: 'key-bytes-max',
    help: 'largest key accepted',
    kind: 'int',
    fallback: 1024,
  },
  {
    key: 'valueBytesMax',
    flag: 'value-bytes-max',
    help: 'largest value accepted',
    kind: 'int',
    fallback: 1024 * 1024,
  },
  {
    key: 'synchronous',
    flag: 'synchronous',
    help: 'SQLite synchronous: normal or full',
    kind: 'string',
    fallback: 'normal',
  },
  {
    key: 'cacheMb',
    flag: 'cache-mb',
    help: `SQLite page cache of the database, MiB (1..${cacheMbMax}): size it for the hot part of the data`,
    kind: 'int',
    fallback: 64,
  },
  {
    key: 'readFanout',
    flag: 'read-fanout',
    help: 'replicas a get reads: quorum (R, its own first; the others after a failure or the p95 of replica reads) or all (every replica, as Riak)',
    kind: 'string',
    fallback: 'quorum',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    help: 'fatal|error|warn|info|debug|trace|silent',
    kind: 'string',
    fallback: 'info',
  },
  {
    key: 'logFormat',
    flag: 'log-format',
    help: 'auto|json|pretty: pretty is one line per event with local times; auto: pretty on a terminal, JSON lines otherwise',
    kind: 'string',
    fallback: 'auto',
  },
  {
    key: 'exitWithParent',
    flag: 'exit-with-parent',
    help: 'stdin is a pipe from the parent process (a launcher): when it reaches EOF (the parent exited, even by kill -9), stop as on SIGTERM, then exit within --shutdown-timeout-ms plus a margin',
    kind: 'bool',
    fallback: 'false',
  },
  {
    key: 'adminListen',
    flag: 'admin-listen',
    aliases: ['metrics-listen'],
    help: 'HTTP admin host:port: Prometheus /metrics, /healthz, the web console at / and its JSON /api ("" = off); --metrics-listen is the old name',
    kind: 'string',
    fallback: '',
  },
  {
    key: 'shutdownTimeoutMs',
    flag: 'shutdown-timeout-ms',
    help: 'time in-flight requests get on SIGTERM',
    kind: 'int',
    fallback: 5000,
  },
  {
    key: 'zone',
    flag: 'zone',
    help: 'this node\'s zone (rack, availability zone); "" = none',
    kind: 'string',
    fallback: '',
  },
  {
    key: 'gossipIntervalMs',
    flag: 'gossip-interval-ms',
    help: 'how often this node gossips with a random peer',
    kind: 'int',
    fallback: 1000,
  },
  {
    key: 'phiThreshold',
    flag: 'phi-threshold',
    help: 'phi above which a silent peer is considered down',
    kind: 'int',
    fallback: 8,
  },
  {
    key: 'hintAgeMaxMs',
    flag: 'hint-age-max-ms',
    help: 'hints older than this are dropped (counted)',
    kind: 'int',
    fallback: 3_600_000,
  },
  {
    key: 'hintsPerTargetMax',
    flag: 'hints-per-target-max',
    help: 'hints kept per down replica; older ones beyond are dropped',
    kind: 'int',
    fallback: 100_000,
  },
  {
    key: 'handoffRate',
    flag: 'handoff-rate',
    help: 'hinted objects delivered per second per target',
    kind: 'int',
    fallback: 2000,
  },
  {
    key: 'aeIntervalMs',
    flag: 'ae-interval-ms',
    help: 'time between anti-entropy exchanges (one partition each); 0 = only on demand',
    kind: 'int',
    fallback: 10_000,
  },
  {
    key: 'aeRate',
    flag: 'ae-rate',
    help: 'objects anti-entropy repairs per second at most',
    kind: 'int',
    fallback: 1000,
  },
  {
    key: 'tombstoneGraceMs',
    flag: 'tombstone-grace-ms',
    help: 'age after which a tombstone every replica holds is removed',
    kind: 'int',
    fallback: 86_400_000,
  },
  {
    key: 'certFile',
    flag: 'cert-file',
    help: 'client port TLS certificate (PEM); re-read on SIGHUP',
    kind: 'string',
    fallback: '',
  },
  {
    key: 'keyFile',
    flag: 'key-file',
    help: 'client port TLS private key (PEM); re-read on SIGHUP',
    kind: 'string',
    fallback: '',
  },
  {
    key: 'trustedCaFile',
    flag: 'trusted-ca-file',
    help: 'CA (PEM) that client certificates must be signed by (with --client-cert-auth)',
    kind: 'string',
    fallback: '',
  },
  {
    key: 'clientCertAuth',
    flag: 'client-cert-auth',
    help: 'require a client certificate signed by --trusted-ca-file on the client port',
    kind: 'bool',
    fallback: 'false',
  },
  {
    key: 'peerCertFile',
    flag: 'peer-cert-file',
    help: "peer port mTLS: this node's certificate (PEM, made by `ringctl certs node`); re-read on SIGHUP",
    kind: 'string',
    fallback: '',
  },
  {
    key: 'peerKeyFile',
    flag: 'peer-key-file',
    help: "peer port mTLS: this node's private key (PEM); re-read on SIGHUP",
    kind: 'string',
    fallback: '',
  },
  {
    key: 'peerTrustedCaFile',
    flag: 'peer-trusted-ca-file',
    help: 'peer port mTLS: the cluster CA (PEM) both sides verify the other against',
    kind: 'string',
    fallback: '',
  },
  {
    key: 'insecure',
    flag: 'insecure',
    help: 'serve plaintext on a non-loopback address (a warning is logged)',
    kind: 'bool',
    fallback: 'false',
  },
  {
    key: 'authTokenFile',
    flag: 'auth-token-file',
    help: 'bearer tokens, lines "TOKEN ROLE [NAME]" or "sha256:HEX ROLE [NAME]" (roles read, write, admin); re-read on SIGHUP; "" = no authentication',
    kind: 'string',
    fallback: '',
  },
  {
    key: 'rateLimit',
    flag: 'rate-limit',
    help: 'per-client rate limits NAME=OPS_PER_S[:BURST],... by token name ("*" = every other client)',
    kind: 'list',
    fallback: '',
  },
  {
    key: 'maxInflightRequests',
    flag: 'max-inflight-requests',
    help: 'client requests in progress at once (HTTP/2 streams per client connection: twice that); beyond, RESOURCE_EXHAUSTED',
    kind: 'int',
    fallback: 256,
  },
  {
    key: 'maxInflightBytes',
    flag: 'max-inflight-bytes',
    help: 'bytes of client requests in progress at once; beyond, RESOURCE_EXHAUSTED',
    kind: 'int',
    fallback: 64 * 1024 * 1024,
  },
];

function envName(flag: string): string {
  return `RINGSTORE_${flag.toUpperCase().replaceAll('-', '_')}`;
}

function convert(spec: FlagSpec, raw: unknown, source: string): unknown {
  if (raw === undefined) return undefined;
  if (spec.kind === 'nodes') {
    if (Array.isArray(raw)) return raw;
    if (typeof raw !== 'string')
      throw new ConfigError(`${source}: expected "id=host:port,..." or a list of {id, address}`);
    return parseNodes(raw);
  }
  if (spec.kind === 'list') {
    if (Array.isArray(raw)) return raw;
    if (typeof raw !== 'string') throw new ConfigError(`${source}: expected "host:port,..."`);
    return raw
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  }
  if (spec.kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    const text = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    throw new ConfigError(`${source}: expected true or false`);
  }
  if (spec.kind === 'int') {
    if (typeof raw === 'number') return raw;
    if (typeof raw !== 'string') throw new ConfigError(`${source}: expected a whole number`);
    const text = raw.trim();
    if (!/^-?\d+$/.test(text)) throw new ConfigError(`${source}: "${text}" is not a whole number`);
    return Number(text);
  }
  return typeof raw === 'string' ? raw : raw;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--config: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`--config: ${path} is not a JSON object: ${(e as Error).message}`);
  }
}

export function buildCommand(): Command {
  const cmd = new Command('ringstore-node')
    .description(
      'A Ringstore storage node. Every flag is also an environment variable RINGSTORE_<FLAG> and a key of the --config JSON file (camelCase); flags win over the environment, which wins over the file.',
    )
    .option('--config <file>', 'JSON config file')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) })
    .allowExcessArguments(false);
  for (const spec of flagSpecs) {
    for (const alias of spec.aliases ?? [])
      cmd.addOption(
        new Option(
          `--${alias}${spec.kind === 'bool' ? '' : ' <value>'}`,
          `old name of --${spec.flag}`,
        ).hideHelp(),
      );
    const fallback =
      spec.fallback === undefined || spec.kind === 'bool'
        ? ''
        : ` (default ${JSON.stringify(spec.fallback)})`;
    const value = spec.kind === 'bool' ? '' : ' <value>';
    cmd.addOption(
      new Option(`--${spec.flag}${value}`, `${spec.help}${fallback}; env ${envName(spec.flag)}`),
    );
  }
  return cmd;
}

/** Parses flags, environment and config file into a validated configuration; throws ConfigError. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): NodeConfig {
  const cmd = buildCommand();
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new ConfigError(e.message.replace(/^error: /, ''));
    throw e;
  }
  const opts = cmd.opts<Record<string, unknown>>();
  const file = typeof opts['config'] === 'string' ? readConfigFile(opts['config']) : {};
  const merged: Record<string, unknown> = {};
  for (const spec of flagSpecs) {
    let value: unknown;
    for (const flag of [spec.flag, ...(spec.aliases ?? [])])
      value ??= convert(spec, opts[camel(flag)], `--${flag}`);
    for (const flag of [spec.flag, ...(spec.aliases ?? [])])
      value ??= convert(spec, env[envName(flag)], envName(flag));
    for (const key of [spec.key, ...(spec.aliases ?? []).map(camel)])
      value ??= convert(spec, file[key], `config ${key}`);
    merged[spec.key] = value ?? convert(spec, spec.fallback, 'default');
  }
  const known = (k: string): boolean =>
    flagSpecs.some((s) => s.key === k || (s.aliases ?? []).some((a) => camel(a) === k));
  const unknown = Object.keys(file).filter((k) => !known(k));
  if (unknown.length > 0) throw new ConfigError(`config file: unknown keys ${unknown.join(', ')}`);
  const result = schema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${flagOf(i.path)}: ${i.message}`);
    throw new ConfigError(issues.join('; '));
  }
  const config = result.data;
  return {
    ...config,
    nodes: config.nodes.map((n) => ({
      ...n,
      peerAddress: n.peerAddress ?? defaultPeerAddress(n.address),
    })),
    peerListen: config.peerListen === '' ? defaultPeerAddress(config.listen) : config.peerListen,
  };
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function flagOf(path: readonly PropertyKey[]): string {
  const key = String(path[0] ?? '');
  const spec = flagSpecs.find((s) => s.key === key);
  return spec ? `--${spec.flag}` : key;
}

export function helpText(): string {
  return buildCommand().helpInformation();
}
