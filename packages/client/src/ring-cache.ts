import type { NodePool } from './node-pool.js';
import { RingView, isNewerRing } from './ring-view.js';
import { callUnary, type InflightCalls } from './unary.js';

/** Addresses one ring fetch may try, one after the other, each with the client's deadline. */
export const ringFetchAddressesMax = 8;
/** Refetches triggered by unreachable nodes are at least this far apart (a dead node fails fast). */
export const unreachableRefreshGapMs = 1_000;

/** What fetching rings needs from the client. */
export interface RingFetchDeps {
  readonly pool: NodePool;
  readonly inflight: InflightCalls;
  readonly deadlineMs: number;
}

/** The first valid ring one of `addresses` returns, in order, or every address's reason for failing. */
export async function fetchRing(
  addresses: readonly string[],
  deps: RingFetchDeps,
): Promise<{ view: RingView } | { problems: string[] }> {
  const problems: string[] = [];
  for (const address of addresses) {
    if (deps.pool.isClosed) break;
    const outcome = await deps.pool.use(address, ({ cluster }) =>
      callUnary(cluster.getRing.bind(cluster), {}, Date.now() + deps.deadlineMs, deps.inflight),
    );
    if (!outcome.ok) {
      problems.push(`${address}: ${outcome.error.details || outcome.error.message}`);
      continue;
    }
    const view = RingView.fromMessage(outcome.response);
    if (typeof view !== 'string') return { view };
    problems.push(`${address}: ${view}`);
  }
  return { problems };
}

/** Options of a RingCache. */
export interface RingCacheOptions extends RingFetchDeps {
  readonly seeds: readonly string[];
  readonly ringRefreshMs: number;
  /** Whether a node is in the failed-node memory (asked last). */
  readonly isFailed: (nodeId: string) => boolean;
  /** Called with each newer ring taken. */
  readonly onChange: (view: RingView) => void;
}

/**
 * The client's ring, kept fresh: refetched when a node's response names a newer version, after a
 * node could not be reached (it may have left), and every `ringRefreshMs` (an unref'd timer, so
 * an idle client never keeps the process alive). Refetches are single-flight: triggers that
 * arrive while one runs share it. A fetched ring is taken only when it is newer by (term,
 * version) and of the same cluster: a lagging node's older ring, or another cluster's at an
 * address reused, is ignored. A request routed with a stale ring still succeeds (the node
 * forwards it); the refetch only saves the hop.
 */
export class RingCache {
  private view: RingView;
  private flight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A version some node named that no fetch has returned yet: not chased again until the timer. */
  private chasedVersion = -1n;
  private lastUnreachableRefreshMs = -Infinity;
  private stopped = false;
  /** Fetches that returned a ring (newer or not), and fetches that found no ring. */
  readonly counts = { refreshes: 0, failures: 0 };

  constructor(
    initial: RingView,
    private readonly options: RingCacheOptions,
  ) {
    this.view = initial;
  }

  current(): RingView {
    return this.view;
  }

  startTimer(): void {
    this.timer = setInterval(() => {
      this.chasedVersion = -1n;
      void this.refresh(undefined);
    }, this.options.ringRefreshMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A node at `address` answered with ring `version`: refetch, from it first, when that is newer.
   * The header names the version only, so it is taken to be of the cached ring's term: newer when
   * greater than the cached version. A ring of a higher term but no greater version (the old
   * claimant wrote on past a forced take-over, and this client saw it) is found by the timer's
   * refetch (or one after a node could not be reached), which compares (term, version).
   */
  noteVersion(version: bigint, address: string): void {
    if (version <= this.view.version || version <= this.chasedVersion) return;
    this.chasedVersion = version;
    void this.refresh(address);
  }

  /** A node could not be reached: the ring may have changed without it. */
  noteUnreachable(nowMs: number): void {
    if (nowMs - this.lastUnreachableRefreshMs < unreachableRefreshGapMs) return;
    this.lastUnreachableRefreshMs = nowMs;
    void this.refresh(undefined);
  }

  /** Refetches the ring (joining a refetch already running). Never rejects. */
  refresh(preferredAddress: string | undefined): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.flight ??= this.fetch(preferredAddress).finally(() => {
      this.flight = undefined;
    });
    return this.flight;
  }

  private async fetch(preferredAddress: string | undefined): Promise<void> {
    const found = await fetchRing(this.sources(preferredAddress), this.options);
    if (this.stopped) return;
    if (!('view' in found)) {
      this.counts.failures++;
      return;
    }
    this.counts.refreshes++;
    const { view } = found;
    if (!isNewerRing(view, this.view) || !sameCluster(view, this.view)) return;
    // A version chased in an older term (one its deposed claimant wrote) says nothing of this one.
    if (view.term !== this.view.term) this.chasedVersion = -1n;
    this.view = view;
    this.options.onChange(view);
  }

  /**
   * Where to fetch from: the node that named a newer ring, the ring's serving nodes (not failed
   * recently first), then the seeds. Nodes that left or were removed, seeds among them, are not
   * asked: they stay listed in the ring for good and would crowd out the live ones under
   * `ringFetchAddressesMax`.
   */
  private sources(preferredAddress: string | undefined): string[] {
    const ids = this.view.servingIds;
    const live = ids.filter((id) => !this.options.isFailed(id));
    const failed = ids.filter((id) => this.options.isFailed(id));
    const fromRing = [...live, ...failed].map((id) => this.view.addressOf(id) ?? '');
    const all = [preferredAddress ?? '', ...fromRing, ...this.options.seeds].filter(
      (a) => a !== '' && !this.view.isGoneAddress(a),
    );
    return [...new Set(all)].slice(0, ringFetchAddressesMax);
  }
}

/** A ring without a cluster id (a node from before membership changes) matches any. */
function sameCluster(a: RingView, b: RingView): boolean {
  const [x, y] = [a.message.clusterId, b.message.clusterId];
  return x === '' || y === '' || x === y;
}
