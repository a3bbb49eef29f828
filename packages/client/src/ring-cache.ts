import { fromServiceError, isAuthRefusal, type RingstoreClientError } from './errors.js';
import type { NodePool } from './node-pool.js';
import { RingView, isNewerRing, type RingVersion } from './ring-view.js';
import { callUnary, type HeaderRing, type InflightCalls } from './unary.js';

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

/** No ring found: every address's reason, and the first that refused the client's credentials. */
export interface RingNotFound {
  readonly problems: string[];
  readonly refusal: RingstoreClientError | undefined;
}

/** The first valid ring one of `addresses` returns, in order, or why none did. */
export async function fetchRing(
  addresses: readonly string[],
  deps: RingFetchDeps,
): Promise<{ view: RingView } | RingNotFound> {
  const problems: string[] = [];
  let refusal: RingstoreClientError | undefined;
  for (const address of addresses) {
    if (deps.pool.isClosed) break;
    const outcome = await deps.pool.use(address, ({ cluster, callMetadata }) =>
      callUnary(
        cluster.getRing.bind(cluster),
        {},
        callMetadata(),
        Date.now() + deps.deadlineMs,
        deps.inflight,
      ),
    );
    if (!outcome.ok) {
      const { error } = fromServiceError(outcome.error, outcome.answered, undefined);
      if (isAuthRefusal(error)) refusal ??= error;
      problems.push(`${address}: ${error.details}`);
      continue;
    }
    const view = RingView.fromMessage(outcome.response);
    if (typeof view !== 'string') return { view };
    problems.push(`${address}: ${view}`);
  }
  return { problems, refusal };
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
  /** A ring some node named that no fetch has returned yet: not chased again until the timer. */
  private chased: RingVersion | undefined;
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
      this.chased = undefined;
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
   * A node at `address` answered naming ring (term, version): refetch, from it first, when that is
   * newer than the cached ring and than the last ring chased. A node that sends no term (older
   * than the term header) is taken to speak of the cached ring's term.
   */
  noteVersion(named: HeaderRing, address: string): void {
    const ring = { term: named.term ?? this.view.term, version: named.version };
    if (!isNewerRing(ring, this.view)) return;
    if (this.chased !== undefined && !isNewerRing(ring, this.chased)) return;
    this.chased = ring;
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
