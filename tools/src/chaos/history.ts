// The history of a run, after Jepsen: every operation is an invoke event followed by one completion,
// ok (acknowledged), fail (certainly not applied) or unknown (may or may not have been applied: a
// timeout, a quorum failure after sending). Pure: the clock is an argument.

export const workloadNames = ['unique-keys', 'set', 'delete'] as const;
export type WorkloadName = (typeof workloadNames)[number];

export type CompletionType = 'ok' | 'fail' | 'unknown';
export type Op = 'write' | 'add' | 'delete';
export type EventType = 'invoke' | CompletionType;

export interface OpEvent {
  /** Ties an invoke to its completion. */
  readonly op: number;
  readonly type: EventType;
  readonly workload: WorkloadName;
  /** The client worker that ran the operation. */
  readonly process: number;
  /** 'write': put a value; 'add': add an element to a set with update; 'delete': a tombstone. */
  readonly f: Op;
  readonly key: string;
  /** What the operation adds: the value written (unique keys, delete), the set element, or a delete's own id. */
  readonly element: string;
  /** The values the operation's context covered (what its read returned): the ones it supersedes. */
  readonly covers?: readonly string[];
  /** Since the start of the workload. */
  readonly timeMs: number;
  /** Completions that were not ok: the error (status and message). */
  readonly error?: string;
  /** Completions: RESOURCE_EXHAUSTED answers (overload, rate limit) its attempts got, when any. */
  readonly overloadAnswers?: number;
  /** Completions: it ended refused as overloaded, after the SDK's retries (a fail: not applied). */
  readonly overloaded?: true;
}

/** What a completion says besides its type. */
export interface CompletionDetail {
  readonly error?: string | undefined;
  /** RESOURCE_EXHAUSTED answers the operation's attempts got, retried or not. */
  readonly overloadAnswers?: number | undefined;
  /** The operation ended refused as overloaded (OverloadedError). */
  readonly overloaded?: boolean | undefined;
}

/** An item the checker follows: one element of one key. */
export function itemOf(key: string, element: string): string {
  return `${key}=${element}`;
}

/** Most events one history keeps: 10 minutes at 1,000 operations per second is 1.2 million. */
export const eventsMax = 5_000_000;

export class History {
  private readonly list: OpEvent[] = [];
  private readonly open = new Map<number, OpEvent>();
  private nextOp = 0;

  constructor(
    private readonly nowMs: () => number,
    private readonly sink?: (event: OpEvent) => void,
  ) {}

  get events(): readonly OpEvent[] {
    return this.list;
  }

  /** Records the invoke; returns the op id to complete. */
  invoke(
    workload: WorkloadName,
    process: number,
    f: Op,
    key: string,
    element: string,
    covers?: readonly string[],
  ): number {
    const op = this.nextOp++;
    const event: OpEvent = {
      op,
      type: 'invoke',
      workload,
      process,
      f,
      key,
      element,
      ...(covers === undefined ? {} : { covers }),
      timeMs: this.nowMs(),
    };
    this.open.set(op, event);
    this.push(event);
    return op;
  }

  /** Records how op ended. Completing an op twice or one never invoked is a programmer error. */
  complete(op: number, type: CompletionType, detail: CompletionDetail = {}): void {
    const invoke = this.open.get(op);
    if (invoke === undefined) throw new Error(`assertion failed: op ${op} is not open`);
    if (detail.overloaded === true && type !== 'fail')
      throw new Error(`assertion failed: op ${op} refused as overloaded cannot be ${type}`);
    this.open.delete(op);
    const { error, overloadAnswers } = detail;
    this.push({
      ...invoke,
      type,
      timeMs: this.nowMs(),
      ...(error === undefined ? {} : { error }),
      ...(overloadAnswers === undefined || overloadAnswers === 0 ? {} : { overloadAnswers }),
      ...(detail.overloaded === true ? { overloaded: true as const } : {}),
    });
  }

  /** Operations invoked and not completed (the run ended under them): unknown. */
  closeOpen(reason: string): void {
    for (const op of [...this.open.keys()]) this.complete(op, 'unknown', { error: reason });
  }

  private push(event: OpEvent): void {
    if (this.list.length >= eventsMax)
      throw new Error(`assertion failed: history holds at most ${eventsMax} events`);
    this.list.push(event);
    this.sink?.(event);
  }
}
