import type { Detector, DetectorOptions } from './detector.js';
import { heartbeat, newDetector, phi } from './detector.js';

export interface LivenessOptions {
  readonly phiThreshold: number;
  /**
   * How long routing avoids a suspected member before trying it again (a request is the probe):
   * the first wait, doubled after each further failed request, up to the max; reset by a heartbeat.
   */
  readonly routeRetryMinMs: number;
  readonly routeRetryMaxMs: number;
  readonly detector: DetectorOptions;
}

/**
 * Detector and suspicion settings for a gossip interval. phi uses the normal model (Akka's) with a
 * standard deviation floor of half an interval and two silent intervals tolerated: with the
 * exponential model (Cassandra's) phi 8 is only crossed after about 18 intervals, too slow for
 * routing. Intervals longer than 3 rounds are outages, not samples.
 */
export function livenessDefaults(gossipIntervalMs: number): Omit<LivenessOptions, 'phiThreshold'> {
  return {
    routeRetryMinMs: 1_000,
    routeRetryMaxMs: 10_000,
    detector: {
      distribution: 'normal',
      minStdDevMs: gossipIntervalMs / 2,
      acceptableHeartbeatPauseMs: 2 * gossipIntervalMs,
      firstHeartbeatEstimateMs: gossipIntervalMs,
      intervalMaxMs: 3 * gossipIntervalMs,
    },
  };
}

/**
 * Whether a member is up and why: phi below the threshold and no local suspicion. A member is
 * down when phi reached the threshold, or while it is suspected: from a failed request until a
 * heartbeat is heard after it. `routable` is what request routing uses: like `up`, except that a
 * suspected member (phi still below the threshold) is tried again once its retry wait has passed,
 * so a live member whose heartbeat is slow to arrive (a loaded machine) is not avoided for longer
 * than the wait, while the "up" verdict (transitions, logs, members) still needs a heartbeat.
 */
export interface MemberLiveness {
  readonly up: boolean;
  readonly routable: boolean;
  readonly phi: number;
  readonly suspected: boolean;
}

/** A member that went up or down since the last transitions() call. */
export interface Transition {
  readonly nodeId: string;
  readonly up: boolean;
  readonly phi: number;
  readonly suspected: boolean;
}

interface Entry {
  detector: Detector;
  lastHeardMs: number;
  /** When a request to it failed, while no heartbeat has been heard since; else undefined. */
  suspectedSinceMs: number | undefined;
  /** While suspected: when routing may try it again. */
  routeRetryAtMs: number;
  /** The next wait before routing tries it again after a failed request. */
  routeRetryMs: number;
  reportedUp: boolean;
}

/**
 * Per-member liveness: a phi-accrual detector fed by gossip arrivals (a member's heartbeat
 * advancing), plus local suspicion after a failed request. Time is an argument, so tests drive it
 * with a fake clock. Detection changes routing only, never ownership (DESIGN.md section 5).
 */
export class LivenessTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly selfId: string,
    memberIds: readonly string[],
    private readonly options: LivenessOptions,
    startMs: number,
  ) {
    // Members start as heard-from at startup: they are routed to until the evidence says otherwise.
    for (const id of memberIds) if (id !== selfId) this.entries.set(id, this.fresh(startMs));
  }

  private fresh(nowMs: number): Entry {
    return {
      detector: heartbeat(newDetector(this.options.detector), nowMs),
      lastHeardMs: nowMs,
      suspectedSinceMs: undefined,
      routeRetryAtMs: 0,
      routeRetryMs: this.options.routeRetryMinMs,
      reportedUp: true,
    };
  }

  /** Gossip showed the member's heartbeat (or generation) advance. */
  heard(nodeId: string, nowMs: number): void {
    if (nodeId === this.selfId) return;
    const entry = this.entries.get(nodeId);
    if (entry === undefined) {
      this.entries.set(nodeId, this.fresh(nowMs));
      return;
    }
    // The detector needs time to move forwards; a clock that stepped back counts as "just now".
    entry.lastHeardMs = Math.max(entry.lastHeardMs, nowMs);
    entry.detector = heartbeat(entry.detector, entry.lastHeardMs);
    // The evidence that ends a suspicion: a heartbeat heard after the request that failed.
    if (entry.suspectedSinceMs !== undefined && nowMs >= entry.suspectedSinceMs)
      this.clearSuspicion(entry);
  }

  /**
   * The member answered a request sent at `sentAtMs` (a reply, or an error it sent): like a
   * heartbeat for the suspicion, it ends one that began before the request was sent, since the
   * member was alive after that. It does not feed the detector: phi stays gossip's.
   */
  answered(nodeId: string, sentAtMs: number): void {
    const entry = this.entries.get(nodeId);
    if (entry?.suspectedSinceMs === undefined || sentAtMs < entry.suspectedSinceMs) return;
    this.clearSuspicion(entry);
  }

  /** The member is known alive again: the next failure starts a new suspicion and wait. */
  private clearSuspicion(entry: Entry): void {
    entry.suspectedSinceMs = undefined;
    entry.routeRetryAtMs = 0;
    entry.routeRetryMs = this.options.routeRetryMinMs;
  }

  /** The member left the ring: no longer tracked (isUp answers false, as for any unknown id). */
  forget(nodeId: string): void {
    this.entries.delete(nodeId);
  }

  /**
   * A request to the member failed or timed out: down at once, and until a heartbeat is heard
   * after this call. Not for a while only: when a suspicion simply expired, phi was often still
   * below the threshold (a killed member's silence is younger than the detector's tolerance), so
   * a member killed a second earlier came back up on no evidence at all. Routing tries it again
   * after routeRetryMinMs, then after twice as long for each failure of those retries (Riak's and
   * Cassandra's requests are their own probes too); failures while it is not yet due are one burst.
   */
  suspect(nodeId: string, nowMs: number): void {
    const entry = this.entries.get(nodeId);
    if (entry === undefined) return;
    entry.suspectedSinceMs ??= nowMs;
    if (nowMs < entry.routeRetryAtMs) return;
    entry.routeRetryAtMs = nowMs + entry.routeRetryMs;
    entry.routeRetryMs = Math.min(this.options.routeRetryMaxMs, entry.routeRetryMs * 2);
  }

  of(nodeId: string, nowMs: number): MemberLiveness {
    if (nodeId === this.selfId) return { up: true, routable: true, phi: 0, suspected: false };
    const entry = this.entries.get(nodeId);
    if (entry === undefined)
      return { up: false, routable: false, phi: Number.POSITIVE_INFINITY, suspected: false };
    const suspected = entry.suspectedSinceMs !== undefined;
    // phi once (isAvailable is phi < threshold): routing asks this for every replica of a request.
    const phiNow = phi(entry.detector, nowMs);
    const belowThreshold = phiNow < this.options.phiThreshold;
    return {
      up: belowThreshold && !suspected,
      routable: belowThreshold && (!suspected || nowMs >= entry.routeRetryAtMs),
      phi: phiNow,
      suspected,
    };
  }

  isUp(nodeId: string, nowMs: number): boolean {
    return this.of(nodeId, nowMs).up;
  }

  /** Whether requests may be routed to the member now (see MemberLiveness.routable). */
  isRoutable(nodeId: string, nowMs: number): boolean {
    return this.of(nodeId, nowMs).routable;
  }

  /** Members that went up or down since the last call: each change is reported once. */
  transitions(nowMs: number): Transition[] {
    const changed: Transition[] = [];
    for (const [nodeId, entry] of this.entries) {
      const now = this.of(nodeId, nowMs);
      if (now.up === entry.reportedUp) continue;
      entry.reportedUp = now.up;
      changed.push({ nodeId, up: now.up, phi: now.phi, suspected: now.suspected });
    }
    return changed;
  }
}
