import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statfsSync,
} from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { dirname, join } from 'node:path';
import { Backups, backupTempPrefix } from './backup.js';
import { livenessDefaults } from '@ringstore/membership';
import {
  databaseFileName,
  nodeIdMetaName,
  openSqliteEngine,
  restoredMetaName,
  restoredPending,
  type SqliteStorageEngine,
  type StorageEngine,
} from '@ringstore/storage';
import type { RingDocument } from '@ringstore/membership';
import { ClusterView, activeNodesOf } from './cluster-view.js';
import { loadDocument, RingKeeper } from './ring/ring-keeper.js';
import { Claimant } from './roles/claimant/claimant.js';
import { Transfers } from './roles/transfer/transfer.js';
import { ConfigError, type NodeConfig } from './config.js';
import { keyTag, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { startConsole } from './console/wire.js';
import { fenceOf, linkLimitsDefault, type LinkHandlers } from './peer/link.js';
import { withPeerChecks } from './peer/checks.js';
import { DiskFullLog } from './disk-full-log.js';
import { NodeHealth, diskProbeMetaName } from './health.js';
import { Peers } from './peer/peers.js';
import { PeerTraffic } from './peer/traffic.js';
import { AntiEntropy } from './roles/anti-entropy/anti-entropy.js';
import { trackWrites } from './roles/anti-entropy/tracked-storage.js';
import { KeyInspector } from './inspect-key.js';
import { PartitionTrees } from './roles/anti-entropy/trees.js';
import { ActorEpochs } from './actor-epochs.js';
import { Coordinator } from './roles/coordinator/coordinator.js';
import { tombstoneGraceSafeMinMs } from './roles/anti-entropy/reaper.js';
import { Forwarder } from './roles/coordinator/forward.js';
import { KvHandler } from './roles/coordinator/kv-handler.js';
import { Gossiper } from './roles/gossip/gossiper.js';
import { Handoff } from './roles/handoff/handoff.js';
import { Replica } from './roles/replica/replica.js';
import {
  InflightTracker,
  clientMessageBytesMax,
  startGrpcServer,
  type RunningServer,
} from './server.js';
import { transportOf, type TransportSecurity } from './transport.js';
import { ClientGuard } from './security/guard.js';
import { SaturationMonitor, eventLoopDelayHistogram } from './security/admission.js';
import { RateLimitSpecError, parseRateLimits } from './security/rate-limit.js';
import { TokenFileError } from './security/tokens.js';

/** How often pending hints are looked at; a peer seen up again triggers delivery at once. */
const handoffIntervalMs = 1_000;
/** The gRPC server's own graceful stop gets at least this, even when draining took the budget. */
const serverShutdownMinMs = 100;

export interface RunningNode {
  readonly port: number;
  readonly peerPort: number;
  /** The admin HTTP port as bound (a configured :0 resolved); undefined without --admin-listen. */
  readonly adminPort: number | undefined;
  /** SIGHUP: re-reads certificates (and token files). */
  reload(): void;
  readonly actor: string;
  readonly metrics: Metrics;
  /** Resolves once this node has left the cluster: it owns nothing and holds no hints. */
  readonly retired: Promise<void>;
  stop(): Promise<void>;
}

/** The node's roles, wired to one storage engine, one cluster view and one peer module. */
interface Roles {
  readonly actor: string;
  readonly view: ClusterView;
  readonly keeper: RingKeeper;
  readonly claimant: Claimant;
  readonly transfers: Transfers;
  readonly peers: Peers;
  readonly gossiper: Gossiper;
  readonly handoff: Handoff;
  readonly antiEntropy: AntiEntropy;
  readonly trees: PartitionTrees;
  readonly kv: KvHandler;
  readonly forwarder: Forwarder;
  readonly linkHandlers: LinkHandlers;
}

/** What has started so far, so a failed start (or a stop) closes exactly that. */
interface Started {
  roles?: Roles;
  grpc?: RunningServer;
  http?: HttpServer;
}

/**
 * Starts a node in four named steps: open storage, build the roles, start the servers, start
 * the loops (gossip, hint delivery, anti-entropy). A step that fails undoes the earlier ones.
 */
export async function startNode(config: NodeConfig, log: Logger): Promise<RunningNode> {
  const metrics = new Metrics();
  const transport = transportOf(config);
  warnIfInsecure(config, transport, log);
  const guard = guardOf(config, metrics, log);
  const saturation = new SaturationMonitor({
    histogram: eventLoopDelayHistogram(),
    now: () => performance.now(),
    admission: guard.admission,
  });
  const saturated = cachedFor(localPauseCheckMs, () => saturation.reason());
  const localPause = (): boolean => saturated() === 'event-loop-lag';
  const busy = (): boolean => saturated() !== undefined;
  const health = new NodeHealth(log);
  const storage = openStorage(config, log, metrics, health);
  const { synchronous, cacheBytes, journalMode } = storage.pragmas();
  log.info({ path: storage.path, journalMode, synchronous, cacheBytes }, 'storage opened');
  health.probeWith(() => probeDisk(config, storage));
  removeBackupLeftovers(storage.path, log);
  watchNode(metrics, { storage, dataDir: config.data, guard, health });
  const started: Started = {};
  try {
    const document = await loadDocument(config, storage, log, transport.peerChannel(undefined));
    const roles = buildRoles(config, storage, document, {
      ...{ metrics, log, transport },
      ...{ localPause, busy },
    });
    started.roles = roles;
    // The partitions' Merkle trees, from storage, before the node serves (each scan paced).
    await roles.trees.rebuildAll();
    const inflight = new InflightTracker();
    const security = { transport, guard };
    Object.assign(
      started,
      await startServers(config, roles, metrics, inflight, log, security, storage),
    );
    const grpc = started.grpc;
    if (grpc === undefined) throw new Error('startServers returned no gRPC server');
    startLoops(roles, grpc, health);
    log.info(
      {
        listen: config.listen,
        port: grpc.port,
        peerListen: config.peerListen,
        peerPort: grpc.peerPort,
        actor: roles.actor,
        cluster: document.clusterId,
        ringVersion: document.version,
        nodes: document.nodes.length,
        partitions: document.ring.partitionCount,
        replicas: document.replicas,
        member: document.nodes.some((n) => n.id === config.id),
      },
      'node serving',
    );
    const retired = watchRetirement(roles, storage, log);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      const parts = { ...roles, grpc, http: started.http, storage, inflight, log, health };
      stopping ??= shutdown({ ...parts, timeoutMs: config.shutdownTimeoutMs }).finally(() => {
        saturation.close();
        metrics.close();
      });
      return stopping;
    };
    const reload = (): void => {
      transport.reload(log);
      guard.reload();
    };
    const { port, peerPort } = grpc;
    const adminPort = portOf(started.http);
    return { port, peerPort, adminPort, actor: roles.actor, metrics, retired, stop, reload };
  } catch (e) {
    health.close();
    metrics.close();
    await abortStart(started, storage);
    throw e;
  }
}

/** The series read at each scrape: storage, admission, health, the event-loop delay. */
function watchNode(
  metrics: Metrics,
  parts: { storage: SqliteStorageEngine; dataDir: string; guard: ClientGuard; health: NodeHealth },
): void {
  const { storage, guard, health } = parts;
  metrics.watchCheckpoints(() => storage.checkpointStats());
  metrics.trackStorage({
    path: storage.path,
    dataDir: parts.dataDir,
    stats: () => storage.stats(),
  });
  metrics.trackAdmission(() => guard.admission);
  metrics.trackHealth(() => ({ serving: health.serving, diskFull: health.state.diskFull }));
  metrics.measureEventLoopDelay();
}

/**
 * HTTP/2 streams one client connection may open, per request the gate admits: more than the gate
 * takes, so one client's excess reaches the gate and is answered RESOURCE_EXHAUSTED with
 * retry-after-ms (with a cap equal to the limit it would only queue unseen in the client), yet
 * bounded, so a flood waits in the client instead of in the node's HTTP/2 layer.
 */
const clientStreamsPerRequest = 2;

/** How often the saturation verdict is recomputed: it is asked on every routing decision. */
const localPauseCheckMs = 25;

/** fn's answer, recomputed at most every periodMs. */
function cachedFor<T>(periodMs: number, fn: () => T): () => T {
  let at = -Infinity;
  let value: T;
  return () => {
    const now = performance.now();
    if (now - at >= periodMs) {
      value = fn();
      at = now;
    }
    return value;
  };
}

/** The client port's gate; a broken token file or rate limit is a ConfigError (exit 2). */
function guardOf(config: NodeConfig, metrics: Metrics, log: Logger): ClientGuard {
  try {
    return new ClientGuard({
      authTokenFile: config.authTokenFile,
      rateLimits: parseRateLimits(config.rateLimit),
      admission: { requestsMax: config.maxInflightRequests, bytesMax: config.maxInflightBytes },
      log,
      onRefused: (reason) => metrics.countRefusal(reason),
    });
  } catch (e) {
    if (e instanceof TokenFileError) throw new ConfigError(`--auth-token-file: ${e.message}`);
    if (e instanceof RateLimitSpecError) throw new ConfigError(`--rate-limit: ${e.message}`);
    throw e;
  }
}

/** Plaintext where it is allowed (loopback, or --insecure, which is logged) and what is secured. */
function warnIfInsecure(config: NodeConfig, transport: TransportSecurity, log: Logger): void {
  const clientTls = config.certFile !== '';
  if (config.insecure && (!clientTls || !transport.peerTls))
    log.warn(
      { clientTls, peerTls: transport.peerTls },
      '--insecure: serving plaintext; anyone who reaches these ports can read and write (and, on the peer port, speak for any node)',
    );
  else log.info({ clientTls, peerTls: transport.peerTls }, 'transport security');
}

/** The data directory is the node's alone: 0700, its files 0600 (SQLite's WAL files follow). */
const dataDirMode = 0o700;
const dataFileMode = 0o600;

/** Temporary backup copies a crash left beside the database (backup.ts): nobody reads them. */
function removeBackupLeftovers(databasePath: string, log: Logger): void {
  const dir = dirname(databasePath);
  for (const name of readdirSync(dir).filter((n) => n.startsWith(backupTempPrefix))) {
    rmSync(join(dir, name), { force: true });
    log.info({ file: name }, 'removed an unfinished backup copy');
  }
}

/**
 * A full disk's way back (health.ts): room for two of the largest client writes (each goes to
 * the WAL, then the checkpoint copies it into the database file), and a small write that
 * commits. Throws while either fails.
 */
function probeDisk(config: NodeConfig, storage: StorageEngine): void {
  const fs = statfsSync(config.data);
  const freeBytes = fs.bavail * fs.bsize;
  const neededBytes = 2 * clientMessageBytesMax(config);
  if (freeBytes < neededBytes)
    throw new Error(`${freeBytes} bytes free in ${config.data}, fewer than ${neededBytes}`);
  storage.setMeta(diskProbeMetaName, String(Date.now()));
}

/**
 * Opens the node's database, its listeners wired to the metrics and the health: a full disk
 * makes the node NOT_SERVING until a write commits again (health.ts probes for it).
 */
function openStorage(
  config: NodeConfig,
  log: Logger,
  metrics: Metrics,
  health: NodeHealth,
): SqliteStorageEngine {
  mkdirSync(config.data, { recursive: true, mode: dataDirMode });
  chmodSync(config.data, dataDirMode);
  const path = join(config.data, databaseFileName);
  // Created (or narrowed) before SQLite opens it: SQLite gives its -wal and -shm files the
  // database file's permissions.
  closeSync(openSync(path, 'a', dataFileMode));
  for (const file of [path, `${path}-wal`, `${path}-shm`])
    if (existsSync(file)) chmodSync(file, dataFileMode);
  const diskFull = new DiskFullLog(log);
  return openSqliteEngine({
    path,
    synchronous: config.synchronous,
    cacheBytes: config.cacheMb * 1024 * 1024,
    onDiskFull: (e) => {
      health.on('disk-full');
      // The health probe's own write is no client write refused.
      if (health.probing) return;
      metrics.diskFullWrites.inc(e.writes);
      diskFull.refused(e, Date.now());
    },
    onCommit: (writes, durationMs) => metrics.observeCommit(writes, durationMs),
    onCorruption: (e) => {
      metrics.corruptRows.inc({ source: e.source });
      log.warn(
        { partition: e.partition, key: keyTag(e.key), reason: e.reason },
        'corrupt object: treated as missing',
      );
    },
  });
}

/**
 * The storage actor, base of the actors named in this node's dots: created with the data
 * directory and kept in meta, so a node that lost its data comes back as a new actor (DESIGN.md
 * section 3, Riak's kv679); per-key epochs of it (ActorEpochs) cover keys removed here.
 */
function storageActor(storage: StorageEngine, nodeId: string): string {
  const owner = storage.getMeta(nodeIdMetaName);
  if (owner !== undefined && owner !== nodeId) {
    throw new ConfigError(`data directory belongs to node ${owner}, not ${nodeId}`);
  }
  if (owner === undefined) storage.setMeta(nodeIdMetaName, nodeId);
  let actor = storage.getMeta('actor');
  // A database restored from a backup (ringctl restore) is data lost since the backup: the node
  // takes a new actor, so the dots it makes never reuse counters the old actor used after it.
  const restored = storage.getMeta(restoredMetaName) === restoredPending;
  if (actor === undefined || restored) {
    actor = `${nodeId}.${randomBytes(6).toString('hex')}`;
    storage.setMeta('actor', actor);
    if (restored) storage.setMeta(restoredMetaName, `new actor ${actor}`);
  }
  return actor;
}

/** Members gossip talks to: every node of the document but the departed ones. */
function buildRoles(
  config: NodeConfig,
  storage: StorageEngine,
  document: RingDocument,
  {
    metrics,
    log,
    transport,
    localPause,
    busy,
  }: {
    metrics: Metrics;
    log: Logger;
    transport: TransportSecurity;
    localPause: () => boolean;
    busy: () => boolean;
  },
): Roles {
  const actors = new ActorEpochs(storage, storageActor(storage, config.id));
  const actor = actors.base;
  const view = new ClusterView(config.id, document);
  const peers = new Peers(
    config.id,
    (id) => view.peerAddressOf(id),
    log,
    linkLimitsDefault,
    (id) => transport.peerChannel(id),
    new PeerTraffic((id) => view.statusOf(id) !== undefined),
  );
  metrics.trackPeerTraffic(peers.traffic);
  const keeper = new RingKeeper(config.id, view, storage, peers, log);
  peers.onRingStale = (id, v, timeoutMs) => keeper.pullNow(id, v, timeoutMs);
  peers.fence = () => fenceOf(view.document);
  const gossiper = new Gossiper(
    {
      id: config.id,
      address: config.listen,
      peerAddress: config.peerListen,
      zone: config.zone,
      generation: Date.now(),
    },
    activeNodesOf(document).filter((n) => n.id !== config.id),
    {
      gossipIntervalMs: config.gossipIntervalMs,
      phiThreshold: config.phiThreshold,
      ...livenessDefaults(config.gossipIntervalMs),
      localPause,
      busy,
    },
    peers,
    log,
    { version: () => view.document, seen: (id, v) => keeper.pullIfBehind(id, v) },
    metrics,
  );
  view.onChange((doc) => gossiper.follow(activeNodesOf(doc)));
  // Every answer a peer gives is evidence it lives: it ends a suspicion from before the request.
  peers.onAnswered = (id, sentAtMs) => gossiper.answered(id, sentAtMs);
  const liveness = gossiper;
  // Every object write goes through `tracked`, so the partitions' Merkle trees follow the data.
  const trees = new PartitionTrees(storage, view.partitionsHeld());
  const tracked = trackWrites(storage, (p, key, previous, next) =>
    trees.onWrite(p, key, previous, next),
  );
  const replica = new Replica(tracked, log, metrics, view);
  const common = { storage: tracked, view, peers, liveness, replica, log, metrics };
  const handoff = new Handoff({
    ...common,
    options: {
      hintAgeMaxMs: config.hintAgeMaxMs,
      hintsPerTargetMax: config.hintsPerTargetMax,
      handoffRatePerSecond: config.handoffRate,
      handoffIntervalMs,
    },
  });
  // A hint row naming a node the ring never had is counted under one '(unknown)' label.
  metrics.trackPendingHints(
    () => storage.hintCounts(),
    (id) => view.statusOf(id) !== undefined,
  );
  metrics.trackMembership(() => ({
    term: view.document.term,
    version: view.document.version,
    ...transfers.counts(),
  }));
  const coordinator = new Coordinator({
    ...common,
    selfId: config.id,
    actors,
    readFanout: config.readFanout,
  });
  const antiEntropy = new AntiEntropy({
    ...common,
    selfId: config.id,
    trees,
    options: {
      intervalMs: config.aeIntervalMs,
      ratePerSecond: config.aeRate,
      tombstoneGraceMs: config.tombstoneGraceMs,
    },
  });
  const forwarder = new Forwarder(view, liveness, metrics);
  const kv = new KvHandler(view, coordinator, forwarder, peers, liveness, config);
  const limits = {
    concurrency: config.transferConcurrency,
    objectsPerSecond: config.transferRate,
    bytesPerSecond: config.transferBytesRate,
  };
  const transfers = new Transfers({
    ...common,
    selfId: config.id,
    storage: tracked,
    trees,
    exchanger: antiEntropy.exchanger,
    limits,
    skipCatchUp: config.unsafeSkipCatchUp,
  });
  const graceSafeMs = tombstoneGraceSafeMinMs(config.requestTimeoutMs);
  if (config.tombstoneGraceMs < graceSafeMs)
    log.warn(
      { tombstoneGraceMs: config.tombstoneGraceMs, safeMinMs: graceSafeMs },
      '--tombstone-grace-ms is shorter than a peer write may take to arrive: a deleted value can come back',
    );
  if (config.unsafeSkipCatchUp)
    log.warn(
      '--unsafe-skip-catch-up: transfers skip the catch-up and WILL LOSE WRITES (test only)',
    );
  const claimant = new Claimant({
    selfId: config.id,
    view,
    keeper,
    liveness,
    log,
    requestTimeoutMs: config.requestTimeoutMs,
    limits,
    transferStallMs: config.transferStallMs,
    perPartition: () => perPartitionEstimate(storage, trees),
  });
  const linkHandlers = withPeerChecks(
    assembleLinkHandlers(replica, handoff, antiEntropy, kv, transfers, claimant),
    view,
  );
  return {
    ...{ actor, view, keeper, claimant, transfers, peers, gossiper, handoff, antiEntropy },
    ...{ trees, kv, forwarder, linkHandlers },
  };
}

/** Average objects and bytes per partition this node replicates: the plan's estimate. */
function perPartitionEstimate(
  storage: StorageEngine,
  trees: PartitionTrees,
): { objects: number; bytes: number } {
  const held = trees.partitions;
  if (held.length === 0) return { objects: 0, bytes: 0 };
  const objects = held.reduce((n, p) => n + trees.keys(p), 0) / held.length;
  const sample = storage.scan(held[0]!, { limit: 100 });
  const perObject =
    sample.length === 0
      ? 0
      : sample.reduce((n, r) => n + r.key.length + r.object.length, 0) / sample.length;
  return { objects, bytes: objects * perObject };
}

/** How often a node that left checks whether it may exit (no hints left to deliver). */
const retirementCheckMs = 500;

/**
 * Resolves once the ring says this node has left and its hint table is empty (the exit gate of
 * MEMBERSHIP.md invariant 1); main.ts then stops it and exits 0.
 */
function watchRetirement(roles: Roles, storage: StorageEngine, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (roles.view.statusOf(roles.view.selfId) !== 'left') return;
      const hints = [...storage.hintCounts().values()].reduce((a, b) => a + b, 0);
      if (hints > 0) return;
      clearInterval(timer);
      log.info('this node has left the cluster: it owns nothing and holds no hints');
      resolve();
    };
    const timer = setInterval(check, retirementCheckMs);
    timer.unref();
  });
}

/** Routes each Link message kind to the role that owns it. */
function assembleLinkHandlers(
  replica: Replica,
  handoff: Handoff,
  antiEntropy: AntiEntropy,
  kv: KvHandler,
  transfers: Transfers,
  claimant: Claimant,
): LinkHandlers {
  return {
    ...replica.handlers,
    ...transfers.handlers,
    ...claimant.handlers,
    ...handoff.handlers,
    ...antiEntropy.handlers,
    ...kv.handlers,
    // A replicate naming a down replica is a fallback's write: the handoff role keeps its hint.
    replicate: (req, ctx) =>
      req.hintFor === '' ? replica.handlers.replicate(req, ctx) : handoff.hintedWrite(req),
  };
}

async function startServers(
  config: NodeConfig,
  roles: Roles,
  metrics: Metrics,
  inflight: InflightTracker,
  log: Logger,
  { transport, guard }: { transport: TransportSecurity; guard: ClientGuard },
  storage: SqliteStorageEngine,
): Promise<{ grpc: RunningServer; http?: HttpServer }> {
  const { view, kv, gossiper, antiEntropy, forwarder, transfers, linkHandlers } = roles;
  const keyInspector = new KeyInspector({
    view,
    storage,
    trees: roles.trees,
    liveness: gossiper,
    limits: config,
  });
  const grpc = await startGrpcServer(
    {
      view,
      peerIdOf: (call) => transport.peerIdOf(call),
      kv,
      keeper: roles.keeper,
      claimant: roles.claimant,
      transfers,
      gossip: gossiper,
      antiEntropy,
      linkHandlers,
      nodeCounts: () => ({
        forwarded: forwarder.forwarded,
        coordinated: kv.coordinated,
        transferObjectsSent: transfers.objectsSent,
      }),
      linkLimits: linkLimitsDefault,
      peerTraffic: roles.peers.traffic,
      metrics,
      log,
      requestTimeoutMs: config.requestTimeoutMs,
      inflight,
      guard,
      clientMessageBytesMax: clientMessageBytesMax(config),
      clientStreamsMax: clientStreamsPerRequest * config.maxInflightRequests,
      backups: new Backups({
        storage,
        nodeId: config.id,
        actor: roles.actor,
        ring: () => view.document,
      }),
      keyInspector,
    },
    {
      listen: config.listen,
      peerListen: config.peerListen,
      credentials: transport.clientServer,
      peerCredentials: transport.peerServer,
    },
  );
  if (config.adminListen === '') return { grpc };
  try {
    const [host, port] = splitHostPort(config.adminListen);
    const console = startConsole({
      ...{ nodeId: config.id, view, gossiper, claimant: roles.claimant, transfers, antiEntropy },
      ...{ metrics, guard, aeIntervalMs: config.aeIntervalMs },
      hintCounts: () => storage.hintCounts(),
      keyInspector,
      serving: () => grpc.serving(),
    });
    const http = await metrics.serve(host, port, () => grpc.serving(), console.handler);
    console.attach(http);
    return { grpc, http };
  } catch (e) {
    grpc.server.forceShutdown();
    grpc.peerServer.forceShutdown();
    throw e;
  }
}

function portOf(server: HttpServer | undefined): number | undefined {
  const address = server?.address();
  return typeof address === 'object' && address !== null ? address.port : undefined;
}

function startLoops(roles: Roles, grpc: RunningServer, health: NodeHealth): void {
  const { gossiper, handoff, antiEntropy } = roles;
  gossiper.onUp(() => handoff.kick());
  gossiper.start();
  handoff.start();
  antiEntropy.start();
  roles.transfers.start();
  roles.claimant.start();
  health.attach((serving) => grpc.setServing(serving));
  health.on('started');
}

async function abortStart(started: Started, storage: StorageEngine): Promise<void> {
  const { roles } = started;
  roles?.claimant.stop();
  await roles?.transfers.stop();
  roles?.gossiper.stop();
  await roles?.handoff.stop();
  await roles?.antiEntropy.stop();
  roles?.peers.close();
  started.grpc?.server.forceShutdown();
  started.grpc?.peerServer.forceShutdown();
  started.http?.close();
  await storage.close();
}

async function shutdown(parts: {
  grpc: RunningServer;
  http: HttpServer | undefined;
  peers: Peers;
  gossiper: Gossiper;
  claimant: Claimant;
  transfers: Transfers;
  handoff: Handoff;
  antiEntropy: AntiEntropy;
  storage: StorageEngine;
  inflight: InflightTracker;
  log: Logger;
  health: NodeHealth;
  timeoutMs: number;
}): Promise<void> {
  parts.log.info('shutting down: finishing in-flight requests');
  parts.health.on('stopping');
  const startedMs = Date.now();
  parts.claimant.stop();
  await parts.transfers.stop();
  parts.gossiper.stop();
  await parts.handoff.stop();
  await parts.antiEntropy.stop();
  await parts.inflight.drain(parts.timeoutMs);
  // What arrives from now on is refused with GOAWAY (UNAVAILABLE), never cut off (CANCELLED).
  const leftMs = parts.timeoutMs - (Date.now() - startedMs);
  await parts.grpc.shutdown(Math.max(serverShutdownMinMs, leftMs));
  parts.peers.close();
  parts.http?.close();
  await parts.storage.close();
  parts.health.on('storage-closed');
  parts.health.close();
  parts.log.info('stopped');
}

export function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i), Number(hostPort.slice(i + 1))];
}
