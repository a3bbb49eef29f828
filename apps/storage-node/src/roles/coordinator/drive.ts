/**
 * The one driver of the pure request machines of @ringstore/quorum (put, get; a delete is a put of
 * a tombstone): etcd raft's Ready/Advance loop for one request. It feeds events to `step` one at a
 * time, in arrival order (an event fed while effects are being performed waits its turn), and
 * performs the effects every machine shares itself: timers, the answer, the end. The effects that
 * touch storage or the network (persist-local, replicate, read, repair) go to `perform`, which
 * reports their outcome by feeding events.
 */

/** The effects the driver performs itself; a machine's effect union includes them. */
export type DriverEffect<Event, Result> =
  | { readonly type: 'schedule-timeout'; readonly afterMs: number; readonly fire: Event }
  | { readonly type: 'respond'; readonly result: Result }
  | { readonly type: 'done' };

export interface MachineStep<State, Effect> {
  readonly state: State;
  readonly effects: readonly Effect[];
}

type Own = 'schedule-timeout' | 'respond' | 'done';

/** Effects the caller performs: those of the machine that are not the driver's own. */
export type PerformedEffect<Effect> = Exclude<Effect, { readonly type: Own }>;

/** Events a machine may be fed in one request at most: a bug guard, far above N+fallbacks+timers. */
export const eventsPerRequestMax = 1_024;

/**
 * Runs one machine to its answer: resolves with the result of its `respond` effect. The machine
 * keeps running after the answer (late acks, read repair) until its `done` effect, which clears
 * the timers it armed.
 */
export function drive<State, Event, Effect extends { readonly type: string }, Result>(
  start: MachineStep<State, Effect | DriverEffect<Event, Result>>,
  step: (state: State, event: Event) => MachineStep<State, Effect | DriverEffect<Event, Result>>,
  perform: (effect: PerformedEffect<Effect>, feed: (event: Event) => void) => void,
): Promise<Result> {
  return new Promise<Result>((resolve) => {
    let state = start.state;
    const timers: NodeJS.Timeout[] = [];
    const queue: Event[] = [];
    let running = false;
    let fed = 0;
    const run = (effects: readonly (Effect | DriverEffect<Event, Result>)[]): void => {
      for (const effect of effects) {
        if (isOwn<Event, Result>(effect)) {
          switch (effect.type) {
            case 'schedule-timeout':
              timers.push(setTimeout(() => feed(effect.fire), effect.afterMs));
              break;
            case 'respond':
              resolve(effect.result);
              break;
            case 'done':
              for (const t of timers.splice(0)) clearTimeout(t);
              break;
          }
        } else perform(effect as PerformedEffect<Effect>, feed);
      }
    };
    /** Steps the machine through the queued events, unless a step is already running. */
    const drain = (): void => {
      if (running) return;
      running = true;
      try {
        for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
          if (++fed > eventsPerRequestMax) throw new Error('request machine fed too many events');
          const next = step(state, e);
          state = next.state;
          run(next.effects);
        }
      } finally {
        running = false;
      }
    };
    const feed = (event: Event): void => {
      queue.push(event);
      drain();
    };
    running = true;
    try {
      run(start.effects);
    } finally {
      running = false;
    }
    drain();
  });
}

function isOwn<Event, Result>(effect: {
  readonly type: string;
}): effect is DriverEffect<Event, Result> {
  return effect.type === 'schedule-timeout' || effect.type === 'respond' || effect.type === 'done';
}
