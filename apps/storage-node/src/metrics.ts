import { createServer, type Server } from 'node:http';
import type { CheckpointStats } from '@ringstore/storage';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  async text(): Promise<string> {
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
   * Serves /metrics, and /healthz: 200 SERVING while `serving()` says so, else 503 NOT_SERVING
   * (the gRPC health of ringstore.v1.KV, for probes that speak HTTP only: Kubernetes' httpGet,
   * a container HEALTHCHECK). Resolves with the bound server.
   */
  serve(host: string, port: number, serving: () => boolean = () => true): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url === '/healthz') {
        const up = serving();
        res
          .writeHead(up ? 200 : 503, { 'content-type': 'text/plain' })
          .end(up ? 'SERVING\n' : 'NOT_SERVING\n');
        return;
      }
      if (req.url !== '/metrics') {
        res.writeHead(404).end('not found: try /metrics or /healthz\n');
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
