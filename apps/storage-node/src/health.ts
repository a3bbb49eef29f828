// The node's health (grpc.health.v1 for the whole server and ringstore.v1.KV, and the HTTP
// /healthz that follows it): SERVING only while the node is started, not stopping, and able to
// write. The state machine is pure (stepHealth); NodeHealth is its shell: it publishes changes to
// the gRPC health service, logs them, and while the disk is full probes it (free space, then a
// small write), since a NOT_SERVING node gets no client writes that could show the space came
// back. A client write that commits meanwhile does not end the state: after a failed
// transaction SQLite reuses the WAL space it had taken, so small writes commit while the disk is
// still full, and the node would flap.
import type { Logger } from './logger.js';

export interface HealthState {
  /** The servers and loops are up (startNode's last step). */
  readonly started: boolean;
  /** Shutdown has begun: new work is refused, storage closes next. */
  readonly stopping: boolean;
  /** Storage is closed: nothing can be written any more. */
  readonly storageClosed: boolean;
  /** A write transaction was refused for a full disk, and the disk probe has not passed since. */
  readonly diskFull: boolean;
}

export type HealthEvent =
  | 'started'
  | 'stopping'
  | 'storage-closed'
  | 'disk-full'
  /** The disk probe passed: room for the largest write, and a write committed. */
  | 'disk-writable';

export const healthInitial: HealthState = {
  started: false,
  stopping: false,
  storageClosed: false,
  diskFull: false,
};

export function stepHealth(state: HealthState, event: HealthEvent): HealthState {
  switch (event) {
    case 'started':
      return { ...state, started: true };
    case 'stopping':
      return { ...state, stopping: true };
    case 'storage-closed':
      return { ...state, storageClosed: true };
    case 'disk-full':
      return { ...state, diskFull: true };
    case 'disk-writable':
      return { ...state, diskFull: false };
  }
}

export function isServing(state: HealthState): boolean {
  return state.started && !state.stopping && !state.storageClosed && !state.diskFull;
}

/**
 * How often a node whose disk is full runs its probe: the time from freeing space to SERVING
 * again, against a statfs and at most one meta page written per try (only while full).
 */
export const diskProbeIntervalMs = 1_000;

/** The meta row the disk probe rewrites (its value: the time of the last probe). */
export const diskProbeMetaName = 'disk_probe';

export class NodeHealth {
  private current = healthInitial;
  private publish: (serving: boolean) => void = () => undefined;
  private probe: (() => void) | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /** True while the probe's own write runs: its refusal is no client write refused. */
  probing = false;

  constructor(
    private readonly log: Pick<Logger, 'info' | 'warn' | 'debug'>,
    private readonly probeIntervalMs = diskProbeIntervalMs,
  ) {}

  get state(): HealthState {
    return this.current;
  }

  get serving(): boolean {
    return isServing(this.current);
  }

  /** Where changes go (the gRPC health service's setServing); told the current verdict now. */
  attach(publish: (serving: boolean) => void): void {
    this.publish = publish;
    publish(this.serving);
  }

  /** The check run every probeIntervalMs while the disk is full: throws while it cannot write. */
  probeWith(probe: () => void): void {
    this.probe = probe;
  }

  on(event: HealthEvent): void {
    const before = this.current;
    this.current = stepHealth(before, event);
    this.probeWhileFull();
    if (isServing(before) === this.serving) return;
    this.publish(this.serving);
    const reason = this.reason();
    if (this.serving) this.log.info('health: SERVING');
    else if (reason === 'disk full')
      this.log.warn({ reason }, 'health: NOT_SERVING until the disk has room again');
    else this.log.info({ reason }, 'health: NOT_SERVING');
  }

  /** Stops the probe timer (shutdown). */
  close(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private reason(): string {
    const s = this.current;
    if (s.storageClosed) return 'storage closed';
    if (s.stopping) return 'stopping';
    if (s.diskFull) return 'disk full';
    return s.started ? 'serving' : 'starting';
  }

  private probeWhileFull(): void {
    const wanted = this.current.diskFull && !this.current.stopping && this.probe !== undefined;
    if (wanted && this.probeTimer === undefined) {
      this.probeTimer = setInterval(() => this.runProbe(), this.probeIntervalMs);
      this.probeTimer.unref();
    } else if (!wanted) this.close();
  }

  private runProbe(): void {
    this.probing = true;
    try {
      this.probe?.();
    } catch (e) {
      // Still full: the next tick retries.
      this.log.debug({ reason: String(e) }, 'disk probe: still cannot write');
      return;
    } finally {
      this.probing = false;
    }
    this.on('disk-writable');
  }
}
