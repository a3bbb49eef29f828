import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CheckpointStats, StorageStats } from '@ringstore/storage';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PeerTraffic } from './peer/traffic.js';
import { refusalKinds, type RefusalKind } from './security/guard.js';

/** The pending-hints label of targets the ring does not name (node ids cannot hold parentheses). */
export const unknownTargetLabel = '(unknown)';

/** The node's Prometheus metrics; served over HTTP when --metrics-listen is set. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'ringstore_requests_total',
    help: 'Client requests by operation and outcome (gRPC status name)',
    labelNames: ['op', 'status'] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'ringstore_requests_refused_total',
    help: 'Client requests refused before any work, by reason (deadline, unauthenticated, permission_denied, rate_limited, overloaded)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly forwarded = new Counter({
    name: 'ringstore_forwarded_requests_total',
    help: 'Client requests for keys this node does not replicate, forwarded to a replica',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  readonly readRepairs = new Counter({
    name: 'ringstore_read_repairs_total',
    help: 'Objects written back to stale, missing or corrupt replicas after a read',
    registers: [this.registry],
  });
  readonly corruptObjects = new Counter({
    name: 'ringstore_corrupt_objects_total',
    help: 'Stored objects that failed their checksum or did not decode (treated as missing)',
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'ringstore_request_seconds',
    help: 'Client request latency at the node that answered the client',
    labelNames: ['op'] as const,
    // 1.25 and 1.5 around the default 1 s request timeout: whether the cap held shows in them.
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 1.25, 1.5, 2.5, 5],
    registers: [this.registry],
  });

  readonly hintsStored = new Counter({
    name: 'ringstore_hints_stored_total',
    help: 'Writes this node took as a fallback and kept as a hint for a down replica',
    registers: [this.registry],
  });
  readonly hintsDelivered = new Counter({
    name: 'ringstore_hints_delivered_total',
    help: 'Hints delivered to (and acknowledged by) the replica they were meant for, then deleted',
    registers: [this.registry],
  });
  readonly hintsDropped = new Counter({
    name: 'ringstore_hints_dropped_total',
    help: 'Hints dropped undelivered, by reason (age: older than --hint-age-max-ms; count: beyond --hints-per-target-max)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly hintsPending = new Gauge({
    name: 'ringstore_hints_pending',
    help: 'Hints waiting for delivery, by target replica',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });

  readonly aeExchanges = new Counter({
    name: 'ringstore_ae_exchanges_total',
    help: 'Anti-entropy exchanges this node ran (one partition with one other replica each)',
    registers: [this.registry],
  });
  readonly aeRepairs = new Counter({
    name: 'ringstore_ae_repairs_total',
    help: 'Objects anti-entropy wrote to repair a replica, by cause (missing, stale, corrupt)',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  readonly aeBytes = new Counter({
    name: 'ringstore_ae_bytes_total',
    help: 'Bytes of anti-entropy exchange traffic (tree levels, key digests, objects) this node sent and received',
    registers: [this.registry],
  });
  readonly gossipIgnored = new Counter({
    name: 'ringstore_gossip_ignored_total',
    help: 'Gossip not merged, by reason: unknown-member (an id the ring does not name), generation-ahead and heartbeat-ahead (beyond what the clock allows), malformed (a whole message refused)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly suspicionsSuppressed = new Counter({
    name: 'ringstore_suspicions_suppressed_total',
    help: 'Failure-detector rounds and peer suspicions skipped because this node was saturated (event-loop lag or its own request queue): its own slowness, not its peers',
    registers: [this.registry],
  });
  readonly tombstonesReaped = new Counter({
    name: 'ringstore_tombstones_reaped_total',
    help: 'Tombstones removed after every replica held them past the grace period',
    registers: [this.registry],
  });

  constructor() {
    // Includes nodejs_eventloop_lag_seconds and its percentiles (nodejs_eventloop_lag_p99_seconds):
    // the event-loop delay a long scan or a checkpoint on the request path would show.
    collectDefaultMetrics({ register: this.registry });
    // Every reason from the start at 0, so rate() and alerts see a refusal's first increase.
    for (const reason of refusalKinds) this.refused.inc({ reason }, 0);
    for (const source of ['object', 'hint'] as const) this.corruptRows.inc({ source }, 0);
  }

  /** The SQLite checkpoint worker's record, read at each scrape (storage checkpointer.ts). */
  watchCheckpoints(stats: () => CheckpointStats | undefined): void {
    new Gauge({
      name: 'ringstore_wal_checkpoints',
      help: 'WAL checkpoints run by the checkpoint worker since start, by kind (passive, truncate) and failed ones',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        const s = stats();
        if (s === undefined) return;
        this.set({ kind: 'passive' }, s.checkpoints - s.truncates);
        this.set({ kind: 'truncate' }, s.truncates);
        this.set({ kind: 'failed' }, s.failures);
      },
    });
    new Gauge({
      name: 'ringstore_wal_frames',
      help: 'WAL frames left after the last checkpoint (a growing number: readers hold checkpoints back)',
      registers: [this.registry],
      collect() {
        const s = stats();
        if (s !== undefined) this.set(s.lastLogFrames - s.lastCheckpointedFrames);
      },
    });
    new Gauge({
      name: 'ringstore_wal_checkpoint_worker_down',
      help: '1 when the checkpoint worker is gone and SQLite checkpoints in the writes again',
      registers: [this.registry],
      collect() {
        const s = stats();
        if (s !== undefined) this.set(s.fallenBack ? 1 : 0);
      },
    });
  }

  /**
   * The children of the per-request series, looked up once per label set: prom-client hashes a
   * label object on every `inc({...})` (sorting its keys into a string), twice per request. The
   * label sets are the operations and gRPC status names: a few hundred at most.
   */
  private readonly requestCounters = new Map<string, { inc(): void }>();
  private readonly latencyTimers = new Map<string, { startTimer(): () => void }>();

  /** ringstore_requests_total{op, status} += 1. */
  countRequest(op: string, status: string): void {
    const key = `${op}\0${status}`;
    let child = this.requestCounters.get(key);
    if (child === undefined) {
      child = this.requests.labels({ op, status });
      this.requestCounters.set(key, child);
    }
    child.inc();
  }

  /** Starts a ringstore_request_seconds{op} observation; call the result when the request ends. */
  timeRequest(op: string): () => void {
    let child = this.latencyTimers.get(op);
    if (child === undefined) {
      child = this.latency.labels({ op });
      this.latencyTimers.set(op, child);
    }
    return child.startTimer();
  }

  readonly transferObjects = new Counter({
    name: 'ringstore_transfer_objects_total',
    help: 'Objects this node received in partition transfers (a page re-sent after a crash counts again)',
    registers: [this.registry],
  });
  readonly transferObjectsSent = new Counter({
    name: 'ringstore_transfer_objects_sent_total',
    help: 'Objects this node sent as the source of partition transfers (a page asked again after the receiver restarted counts again)',
    registers: [this.registry],
  });
  readonly transferBytes = new Counter({
    name: 'ringstore_transfer_bytes_total',
    help: 'Key and object bytes this node received in partition transfers',
    registers: [this.registry],
  });
  readonly transfersActive = new Gauge({
    name: 'ringstore_transfers_active',
    help: 'Inbound partition transfers this node is streaming or catching up now',
    registers: [this.registry],
  });
  readonly transfersStalled = new Gauge({
    name: 'ringstore_transfers_stalled',
    help: 'Inbound partition transfers whose last step failed (see ringctl cluster transfers)',
    registers: [this.registry],
  });
  readonly ringVersion = new Gauge({
    name: 'ringstore_ring_version',
    help: 'Version of the ring document this node has applied (with ringstore_ring_term)',
    registers: [this.registry],
  });
  readonly ringTerm = new Gauge({
    name: 'ringstore_ring_term',
    help: 'Term of the ring document this node has applied',
    registers: [this.registry],
  });

  /** Read at each scrape: the ring version and the state of inbound transfers. */
  trackMembership(
    state: () => { term: number; version: number; active: number; stalled: number },
  ): void {
    this.membership = state;
  }

  private membership:
    (() => { term: number; version: number; active: number; stalled: number }) | undefined;

  /**
   * Sets the pending-hints gauge from the store's counts at each scrape. With `known`, a target it
   * does not know (a hint row from before targets were checked) is counted under
   * unknownTargetLabel: a label value never comes from the wire unless it names a ring member.
   */
  trackPendingHints(
    counts: () => ReadonlyMap<string, number>,
    known?: (nodeId: string) => boolean,
  ): void {
    this.pendingHints = counts;
    this.knownTarget = known;
  }

  private pendingHints: (() => ReadonlyMap<string, number>) | undefined;
  private knownTarget: ((nodeId: string) => boolean) | undefined;

  readonly aeDifferences = new Counter({
    name: 'ringstore_ae_differences_total',
    help: 'Keys anti-entropy exchanges found different between this node and the other replica (divergence: a rate that does not fall means replicas are not converging)',
    registers: [this.registry],
  });

  readonly peerFrames = new Counter({
    name: 'ringstore_peer_frames_total',
    help: 'Peer link frames (batches of messages) exchanged with each peer, by direction (sent, received)',
    labelNames: ['peer', 'direction'] as const,
    registers: [this.registry],
  });
  readonly peerMessages = new Counter({
    name: 'ringstore_peer_messages_total',
    help: 'Peer link messages (requests and replies) exchanged with each peer, by direction (sent, received)',
    labelNames: ['peer', 'direction'] as const,
    registers: [this.registry],
  });
  readonly peerBytes = new Counter({
    name: 'ringstore_peer_bytes_total',
    help: 'Approximate payload bytes (keys, values, objects, 64 per message) of peer link messages exchanged with each peer, by direction (sent, received)',
    labelNames: ['peer', 'direction'] as const,
    registers: [this.registry],
  });
  readonly peerReconnects = new Counter({
    name: 'ringstore_peer_reconnects_total',
    help: 'Peer link streams dialled to each peer after the first (the link broke, or the peer restarted)',
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  readonly peerSendQueue = new Gauge({
    name: 'ringstore_peer_send_queue',
    help: 'Messages and frames waiting to be written to each peer (a growing number: the peer or the network does not keep up)',
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  readonly peerInflight = new Gauge({
    name: 'ringstore_peer_requests_inflight',
    help: 'Requests this node sent each peer over its link that await a reply',
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });

  readonly commitSeconds = new Histogram({
    name: 'ringstore_storage_commit_seconds',
    help: 'Duration of each committed SQLite write transaction (a group commit, or a single synchronous write)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly commitWrites = new Histogram({
    name: 'ringstore_storage_commit_writes',
    help: 'Write calls per committed transaction (the group size of the group commit)',
    // Powers of 4 up to the default group size (1,024) and the ceiling (65,536).
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536],
    registers: [this.registry],
  });
  readonly commitQueue = new Gauge({
    name: 'ringstore_storage_commit_queue',
    help: 'Write calls queued for the next group commit',
    registers: [this.registry],
  });
  readonly diskFullWrites = new Counter({
    name: 'ringstore_storage_disk_full_writes_total',
    help: 'Write calls refused because the disk was full (nothing of them stored)',
    registers: [this.registry],
  });
  readonly diskFull = new Gauge({
    name: 'ringstore_storage_disk_full',
    help: '1 while writes are refused for a full disk (from the first refusal to the next commit), else 0',
    registers: [this.registry],
  });
  readonly corruptRows = new Counter({
    name: 'ringstore_storage_corrupt_rows_total',
    help: 'Stored rows that failed their checksum in any storage read (scans and hint reads included), by table (object, hint); ringstore_corrupt_objects_total counts the ones requests met',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly databaseBytes = new Gauge({
    name: 'ringstore_storage_database_bytes',
    help: 'Size of the SQLite database file',
    registers: [this.registry],
  });
  readonly walBytes = new Gauge({
    name: 'ringstore_storage_wal_bytes',
    help: 'Size of the SQLite write-ahead log file',
    registers: [this.registry],
  });
  readonly filesystemFreeBytes = new Gauge({
    name: 'ringstore_data_filesystem_free_bytes',
    help: 'Bytes free for the node on the filesystem of its data directory (statfs, as an unprivileged user sees them)',
    registers: [this.registry],
  });
  readonly filesystemSizeBytes = new Gauge({
    name: 'ringstore_data_filesystem_size_bytes',
    help: 'Size of the filesystem of the data directory (statfs)',
    registers: [this.registry],
  });

  readonly requestsInflight = new Gauge({
    name: 'ringstore_requests_inflight',
    help: 'Client requests the admission gate let in that have not finished (a batch counts its items)',
    registers: [this.registry],
  });
  readonly requestBytesInflight = new Gauge({
    name: 'ringstore_requests_inflight_bytes',
    help: 'Bytes of the client requests in flight, as admission counts them',
    registers: [this.registry],
  });
  readonly eventLoopDelay = new Gauge({
    name: 'ringstore_event_loop_delay_seconds',
    help: 'Event-loop delay (perf_hooks.monitorEventLoopDelay, sampled every 10 ms) over the time since the previous scrape, by quantile (0.5, 0.99, 1 = the maximum)',
    labelNames: ['quantile'] as const,
    registers: [this.registry],
  });
  readonly serving = new Gauge({
    name: 'ringstore_serving',
    help: '1 while the node reports SERVING on gRPC health and /healthz, else 0 (starting, stopping, disk full)',
    registers: [this.registry],
  });

  private peerTraffic: PeerTraffic | undefined;
  private storage: StorageWatch | undefined;
  private admission: (() => { inflight: number; inflightBytes: number }) | undefined;
  private loopDelay: LoopDelayHistogram | undefined;
  private health: (() => { serving: boolean; diskFull: boolean }) | undefined;
  private readonly refusalCounters = new Map<RefusalKind, { inc(): void }>();

  /** The peer links' counters, read at each scrape. */
  trackPeerTraffic(traffic: PeerTraffic): void {
    this.peerTraffic = traffic;
  }

  /** The storage engine's queue and files, and its data directory's filesystem, read at each scrape. */
  trackStorage(storage: StorageWatch): void {
    this.storage = storage;
  }

  /** The admission gate's requests and bytes in flight, read at each scrape. */
  trackAdmission(admission: () => { inflight: number; inflightBytes: number }): void {
    this.admission = admission;
  }

  /** Whether the node serves and whether its disk is full, read at each scrape. */
  trackHealth(health: () => { serving: boolean; diskFull: boolean }): void {
    this.health = health;
  }

  /**
   * Measures the event-loop delay between scrapes with its own histogram (reset at each scrape;
   * the saturation monitor's has its own one-second windows). close() stops it.
   */
  measureEventLoopDelay(histogram: LoopDelayHistogram = loopDelayHistogram()): void {
    this.loopDelay?.disable();
    this.loopDelay = histogram;
  }

  /** Stops what measures in the background (the event-loop delay histogram's timer). */
  close(): void {
    this.loopDelay?.disable();
    this.loopDelay = undefined;
  }

  /** One committed write transaction: ringstore_storage_commit_seconds and _writes. */
  observeCommit(writes: number, durationMs: number): void {
    this.commitSeconds.observe(durationMs / 1000);
    this.commitWrites.observe(writes);
  }

  /** ringstore_requests_refused_total{reason} += 1, through a cached child (floods count here). */
  countRefusal(reason: RefusalKind): void {
    let child = this.refusalCounters.get(reason);
    if (child === undefined) {
      child = this.refused.labels({ reason });
      this.refusalCounters.set(reason, child);
    }
    child.inc();
  }

  async text(): Promise<string> {
    this.setPeerTraffic();
    await this.setStorage();
    this.setLoopDelay();
    if (this.admission !== undefined) {
      const a = this.admission();
      this.requestsInflight.set(a.inflight);
      this.requestBytesInflight.set(a.inflightBytes);
    }
    if (this.health !== undefined) {
      const h = this.health();
      this.serving.set(h.serving ? 1 : 0);
      this.diskFull.set(h.diskFull ? 1 : 0);
    }
    if (this.pendingHints !== undefined) this.setPendingHints(this.pendingHints());
    if (this.membership !== undefined) {
      const m = this.membership();
      this.ringTerm.set(m.term);
      this.ringVersion.set(m.version);
      this.transfersActive.set(m.active);
      this.transfersStalled.set(m.stalled);
    }
    return this.registry.metrics();
  }

  private setPeerTraffic(): void {
    if (this.peerTraffic === undefined) return;
    for (const m of [this.peerFrames, this.peerMessages, this.peerBytes, this.peerReconnects])
      m.reset();
    this.peerSendQueue.reset();
    this.peerInflight.reset();
    for (const [peer, t] of this.peerTraffic.entries()) {
      const sent = { peer, direction: 'sent' } as const;
      const received = { peer, direction: 'received' } as const;
      this.peerFrames.inc(sent, t.framesSent);
      this.peerFrames.inc(received, t.framesReceived);
      this.peerMessages.inc(sent, t.messagesSent);
      this.peerMessages.inc(received, t.messagesReceived);
      this.peerBytes.inc(sent, t.bytesSent);
      this.peerBytes.inc(received, t.bytesReceived);
      this.peerReconnects.inc({ peer }, t.reconnects);
      this.peerSendQueue.set({ peer }, t.sendQueue());
      this.peerInflight.set({ peer }, t.inflight());
    }
  }

  private async setStorage(): Promise<void> {
    const storage = this.storage;
    if (storage === undefined) return;
    this.commitQueue.set(storage.stats().queuedWrites);
    this.databaseBytes.set(fileBytes(storage.path));
    this.walBytes.set(fileBytes(`${storage.path}-wal`));
    try {
      const fs = await statfs(storage.dataDir);
      this.filesystemFreeBytes.set(fs.bavail * fs.bsize);
      this.filesystemSizeBytes.set(fs.blocks * fs.bsize);
    } catch {
      // The directory is gone or unreadable: the gauges keep their last values.
    }
  }

  private setLoopDelay(): void {
    const h = this.loopDelay;
    if (h === undefined) return;
    // An empty window (two scrapes within one sample) reads as no delay.
    const seconds = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);
    this.eventLoopDelay.set({ quantile: '0.5' }, seconds(h.percentile(50)));
    this.eventLoopDelay.set({ quantile: '0.99' }, seconds(h.percentile(99)));
    this.eventLoopDelay.set({ quantile: '1' }, seconds(h.max));
    h.reset();
  }

  private setPendingHints(counts: ReadonlyMap<string, number>): void {
    this.hintsPending.reset();
    const byLabel = new Map<string, number>();
    for (const [target, n] of counts) {
      const label = (this.knownTarget?.(target) ?? true) ? target : unknownTargetLabel;
      byLabel.set(label, (byLabel.get(label) ?? 0) + n);
    }
    for (const [target, n] of byLabel) this.hintsPending.set({ target }, n);
  }

  /**
   * Serves /metrics, /livez (200 while the process answers), and /healthz: 200 SERVING while `serving()` says so, else 503 NOT_SERVING
   * (the gRPC health of ringstore.v1.KV, for probes that speak HTTP only: Kubernetes' httpGet,
   * a container HEALTHCHECK). Resolves with the bound server.
   */
  serve(
    host: string,
    port: number,
    serving: () => boolean = () => true,
    /** Answers the paths it knows (the web console, console/http.ts) and returns true. */
    other?: (req: IncomingMessage, res: ServerResponse) => boolean,
  ): Promise<Server> {
    const server = createServer((req, res) => {
      if (other?.(req, res) === true) return;
      // Liveness: the process runs and its event loop answers. A node that cannot write (disk
      // full) is alive but not ready: restarting it would free nothing (Kubernetes' livenessProbe).
      if (req.url === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ALIVE\n');
        return;
      }
      if (req.url === '/healthz') {
        const up = serving();
        res
          .writeHead(up ? 200 : 503, { 'content-type': 'text/plain' })
          .end(up ? 'SERVING\n' : 'NOT_SERVING\n');
        return;
      }
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found: try /, /metrics, /healthz or /livez\n');
        return;
      }
      this.text().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}

/** What the metrics read of the storage engine at each scrape. */
export interface StorageWatch {
  /** The database file; its WAL is beside it (`-wal`). */
  readonly path: string;
  /** The data directory, whose filesystem's free space is reported. */
  readonly dataDir: string;
  stats(): StorageStats;
}

/** Event-loop delay samples in nanoseconds, as node:perf_hooks histograms give them. */
export interface LoopDelayHistogram {
  percentile(percentile: number): number;
  readonly max: number;
  reset(): void;
  disable(): unknown;
}

/** Sampling interval of the scrape-window event-loop delay histogram. */
const loopDelayResolutionMs = 10;

function loopDelayHistogram(): LoopDelayHistogram {
  const histogram = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
  histogram.enable();
  return histogram;
}

/** A file's size, 0 when it does not exist (the WAL between a TRUNCATE and the next write). */
function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
