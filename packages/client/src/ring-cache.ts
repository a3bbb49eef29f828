import type { NodePool } from './node-pool.js';
import { RingView } from './ring-view.js';
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
    const { cluster } = deps.pool.get(address);
    const outcome = await callUnary(
      cluster.getRing.bind(cluster),
      {},
      Date.now() + deps.deadlineMs,
      deps.inflight,
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
  /** Called with each newer ring adopted. */
  readonly onChange: (view: RingView) => void;
}

/**
 * The client's ring, kept fresh: refetched when a node's response names a newer version, after a
 * node could not be reached (it may have left), and every `ringRefreshMs` (an unref'd timer, so
 * an idle client never keeps the process alive). Refetches are single-flight: triggers that
 * arrive while one runs share it. A request routed with a stale ring still succeeds (the node
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

  /** A node at `address` answered with ring `version`: refetch, from it first, when that is newer. */
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
    if (found.view.version <= this.view.version) return;
    this.view = found.view;
    this.options.onChange(found.view);
  }

  /** Where to fetch from: the node that named a newer ring, the live ring nodes, then the seeds. */
  private sources(preferredAddress: string | undefined): string[] {
    const ids = this.view.nodeIds;
    const live = ids.filter((id) => !this.options.isFailed(id));
    const failed = ids.filter((id) => this.options.isFailed(id));
    const fromRing = [...live, ...failed].map((id) => this.view.addressOf(id) ?? '');
    const all = [preferredAddress ?? '', ...fromRing, ...this.options.seeds].filter(
      (a) => a !== '',
    );
    return [...new Set(all)].slice(0, ringFetchAddressesMax);
  }
}
