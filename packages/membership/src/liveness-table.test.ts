import { describe, expect, it } from 'vitest';
import { LivenessTable, livenessDefaults, type LivenessOptions } from './index.js';
import { seededRng } from './test-support/rng.js';

const gossipIntervalMs = 1_000;
const options: LivenessOptions = { ...livenessDefaults(gossipIntervalMs), phiThreshold: 8 };
const members = ['n1', 'n2', 'n3'];
/** Steps of the silence search, and the longest silence it looks at. */
const probeStepMs = 10;
const silenceSearchMaxMs = 60_000;

function table(startMs = 0): LivenessTable {
  return new LivenessTable('n1', members, options, startMs);
}

/** Feeds `rounds` heartbeats of `id`, one gossip interval apart give or take `jitterMs`; returns the last one's time. */
function feed(
  t: LivenessTable,
  id: string,
  fromMs: number,
  rounds: number,
  jitterMs: number,
  rng: () => number,
): number {
  let nowMs = fromMs;
  for (let i = 0; i < rounds; i++) {
    nowMs += gossipIntervalMs + Math.round((rng() * 2 - 1) * jitterMs);
    t.heard(id, nowMs);
  }
  return nowMs;
}

/** The first silence after `lastHeardMs` at which `id` is down. */
function silenceUntilDown(t: LivenessTable, id: string, lastHeardMs: number): number {
  for (let silenceMs = 0; silenceMs <= silenceSearchMaxMs; silenceMs += probeStepMs) {
    if (!t.isUp(id, lastHeardMs + silenceMs)) return silenceMs;
  }
  throw new Error(`${id} still up after ${silenceSearchMaxMs} ms of silence`);
}

describe('LivenessTable: phi-accrual detection', () => {
  it('starts every member up, with nothing to report', () => {
    const t = table(5_000);
    for (const id of members) expect(t.of(id, 5_000)).toMatchObject({ up: true, suspected: false });
    expect(t.transitions(5_000)).toEqual([]);
  });

  it('keeps a member up while it is heard every interval, with jitter', () => {
    const t = table();
    const rng = seededRng(42);
    let nowMs = 0;
    for (let round = 0; round < 500; round++) {
      const nextMs = nowMs + gossipIntervalMs + Math.round((rng() * 2 - 1) * 300);
      // Just before the next heartbeat arrives is the worst moment.
      expect(t.isUp('n2', nextMs - 1)).toBe(true);
      expect(t.of('n2', nextMs - 1).phi).toBeLessThan(options.phiThreshold);
      t.heard('n2', nextMs);
      expect(t.transitions(nextMs).filter((x) => x.nodeId === 'n2')).toEqual([]);
      nowMs = nextMs;
    }
  });

  it('turns a silent member down after a few intervals, and for good while it stays silent', () => {
    const t = table();
    const lastHeardMs = feed(t, 'n2', 0, 200, 200, seededRng(7));
    const silenceMs = silenceUntilDown(t, 'n2', lastHeardMs);
    console.log(
      `liveness: a member heard every ${gossipIntervalMs} ms (±200 ms) is down after ${silenceMs} ms of silence (phi ${options.phiThreshold})`,
    );
    expect(silenceMs).toBeGreaterThanOrEqual(3_000);
    expect(silenceMs).toBeLessThanOrEqual(10_000);
    expect(t.isUp('n2', lastHeardMs + silenceMs - probeStepMs)).toBe(true);
    for (const laterMs of [1, 1_000, 60_000, 3_600_000])
      expect(t.isUp('n2', lastHeardMs + silenceMs + laterMs)).toBe(false);
    expect(t.of('n2', lastHeardMs + silenceMs).phi).toBeGreaterThanOrEqual(options.phiThreshold);
  });

  it('convicts a member never heard from since startup in the same sane range', () => {
    const t = table(1_000);
    const silenceMs = silenceUntilDown(t, 'n3', 1_000);
    console.log(`liveness: a member never heard from after startup is down after ${silenceMs} ms`);
    expect(silenceMs).toBeGreaterThanOrEqual(3_000);
    expect(silenceMs).toBeLessThanOrEqual(10_000);
  });

  it('makes a silent member up again at once when it is heard', () => {
    const t = table();
    const lastHeardMs = feed(t, 'n2', 0, 50, 200, seededRng(3));
    const downMs = lastHeardMs + 30_000;
    expect(t.isUp('n2', downMs)).toBe(false);
    t.heard('n2', downMs);
    expect(t.isUp('n2', downMs)).toBe(true);
    // The outage was not taken as a sample: regular heartbeats keep it up right away.
    const againMs = feed(t, 'n2', downMs, 5, 0, seededRng(4));
    expect(t.isUp('n2', againMs + 2_000)).toBe(true);
  });
});

describe('LivenessTable: local suspicion', () => {
  const startMs = 10_000;

  it('makes a member down at once, and only that member', () => {
    const t = table(startMs);
    t.heard('n2', startMs);
    t.suspect('n2', startMs);
    expect(t.of('n2', startMs)).toMatchObject({ up: false, suspected: true });
    expect(t.isUp('n3', startMs)).toBe(true);
  });

  // A member killed right after its last heartbeat: a request to it fails at once, and its
  // silence is still younger than the detector tolerates (phi under the threshold for seconds).
  // A suspicion that merely expired made it "up" again a second after the kill.
  it('keeps a suspected member down while no heartbeat comes, although phi is low', () => {
    const t = table(startMs);
    const lastHeardMs = feed(t, 'n2', startMs, 30, 0, seededRng(5));
    const ofN2 = (nowMs: number) => t.transitions(nowMs).filter((x) => x.nodeId === 'n2');
    t.suspect('n2', lastHeardMs + 10);
    expect(ofN2(lastHeardMs + 10)).toEqual([
      expect.objectContaining({ nodeId: 'n2', up: false, suspected: true }),
    ]);
    for (const afterMs of [500, 1_000, 1_001, 2_000, 2_500]) {
      const nowMs = lastHeardMs + afterMs;
      expect(t.of('n2', nowMs).phi).toBeLessThan(options.phiThreshold);
      expect(t.of('n2', nowMs)).toMatchObject({ up: false, suspected: true });
      expect(ofN2(nowMs)).toEqual([]);
    }
    // Later phi convicts it as well: still nothing to report, and never an "up" on the way.
    const lateMs = lastHeardMs + 60_000;
    expect(t.of('n2', lateMs).phi).toBeGreaterThanOrEqual(options.phiThreshold);
    expect(ofN2(lateMs)).toEqual([]);
  });

  it('is cleared by a heartbeat heard after the suspicion, not by one from before it', () => {
    const t = table(startMs);
    t.suspect('n2', startMs + 500);
    t.heard('n2', startMs + 400); // stamped before the failed request: no evidence
    expect(t.of('n2', startMs + 600)).toMatchObject({ up: false, suspected: true });
    t.heard('n2', startMs + 700);
    expect(t.of('n2', startMs + 700)).toMatchObject({ up: true, suspected: false });
  });

  it('keeps the first suspicion when suspected again; a heartbeat after it clears it', () => {
    const t = table(startMs);
    t.suspect('n2', startMs + 100);
    t.suspect('n2', startMs + 900);
    t.heard('n2', startMs + 500); // the member beat after the first failure
    expect(t.isUp('n2', startMs + 1_000)).toBe(true);
    t.suspect('n2', startMs + 1_100);
    expect(t.isUp('n2', startMs + 1_100)).toBe(false);
  });
});

describe('LivenessTable: routing a suspected member', () => {
  const startMs = 10_000;
  const { routeRetryMinMs, routeRetryMaxMs } = options;

  // A live member on a loaded machine: one request to it timed out, and its next heartbeat is
  // slow to arrive. Routing must not avoid it until then (with one member killed, a write could
  // find fewer than W targets); only the "up" verdict waits for the heartbeat.
  it('is routed to again after routeRetryMinMs, while it stays down until a heartbeat', () => {
    const t = table(startMs);
    t.heard('n2', startMs);
    t.suspect('n2', startMs + 100);
    const at = (afterMs: number) => t.of('n2', startMs + 100 + afterMs);
    expect(at(0)).toMatchObject({ up: false, routable: false, suspected: true });
    expect(at(routeRetryMinMs - 1)).toMatchObject({ up: false, routable: false });
    expect(at(routeRetryMinMs)).toMatchObject({ up: false, routable: true, suspected: true });
    expect(t.isRoutable('n2', startMs + 100 + routeRetryMinMs)).toBe(true);
    expect(t.transitions(startMs + 100 + routeRetryMinMs)).toEqual([
      expect.objectContaining({ nodeId: 'n2', up: false }),
    ]);
  });

  it('doubles the wait after each failed retry, up to routeRetryMaxMs', () => {
    // A detector that tolerates the whole silence, so only the suspicion decides routing.
    const patient = {
      ...options,
      detector: { ...options.detector, acceptableHeartbeatPauseMs: 600_000 },
    };
    const t = new LivenessTable('n1', members, patient, startMs);
    let nowMs = startMs;
    const waits: number[] = [];
    for (let failures = 0; failures < 7; failures++) {
      t.suspect('n2', nowMs);
      // Failures of requests already under way when it was suspected are the same burst.
      t.suspect('n2', nowMs + 1);
      let waitMs = 0;
      while (!t.isRoutable('n2', nowMs + waitMs) && waitMs <= routeRetryMaxMs) waitMs += 50;
      expect(t.isUp('n2', nowMs + waitMs)).toBe(false);
      waits.push(waitMs);
      nowMs += waitMs; // the retry is sent now, and fails: the next suspect()
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
    expect(routeRetryMaxMs).toBe(10_000);
  });

  it('after a heartbeat clears a suspicion, the next one waits routeRetryMinMs again', () => {
    const t = table(startMs);
    t.suspect('n2', startMs);
    t.suspect('n2', startMs + routeRetryMinMs); // the retry failed: the wait is now doubled
    expect(t.isRoutable('n2', startMs + 2 * routeRetryMinMs)).toBe(false);
    t.heard('n2', startMs + 2 * routeRetryMinMs);
    expect(t.of('n2', startMs + 2 * routeRetryMinMs)).toMatchObject({ up: true, routable: true });
    t.suspect('n2', startMs + 3 * routeRetryMinMs);
    expect(t.isRoutable('n2', startMs + 4 * routeRetryMinMs - 1)).toBe(false);
    expect(t.isRoutable('n2', startMs + 4 * routeRetryMinMs)).toBe(true);
  });

  it('is never routed to once phi convicts it, retry wait or not', () => {
    const t = table(startMs);
    const lastHeardMs = feed(t, 'n2', startMs, 30, 0, seededRng(9));
    t.suspect('n2', lastHeardMs + 10);
    const lateMs = lastHeardMs + 60_000;
    expect(t.of('n2', lateMs)).toMatchObject({ up: false, routable: false, suspected: true });
  });
});

describe('LivenessTable: answers as evidence', () => {
  const startMs = 10_000;

  it('an answer to a request sent after the suspicion ends it, as a heartbeat would', () => {
    const t = table(startMs);
    t.suspect('n2', startMs + 100);
    t.answered('n2', startMs + 150);
    expect(t.of('n2', startMs + 200)).toMatchObject({ up: true, routable: true, suspected: false });
    // And the retry wait starts over at routeRetryMinMs for the next suspicion.
    t.suspect('n2', startMs + 300);
    expect(t.isRoutable('n2', startMs + 300 + options.routeRetryMinMs - 1)).toBe(false);
    expect(t.isRoutable('n2', startMs + 300 + options.routeRetryMinMs)).toBe(true);
  });

  // A killed member answers nothing new; a reply to a request sent before the failure that
  // suspected it arrives late, and says nothing about the member after that failure.
  it('an answer to a request sent before the suspicion leaves it suspected', () => {
    const t = table(startMs);
    t.suspect('n2', startMs + 100);
    t.answered('n2', startMs + 99);
    expect(t.of('n2', startMs + 200)).toMatchObject({ up: false, suspected: true });
  });

  it('ignores answers from members it does not know, or that are not suspected', () => {
    const t = table(startMs);
    t.answered('n9', startMs);
    expect(t.isUp('n9', startMs)).toBe(false);
    t.answered('n2', startMs);
    expect(t.of('n2', startMs)).toMatchObject({ up: true, suspected: false });
  });
});

describe('LivenessTable: transitions', () => {
  it('reports each change of up exactly once, and nothing when nothing changed', () => {
    const t = table(0);
    t.heard('n2', 1_000);
    t.heard('n3', 1_000);
    expect(t.transitions(1_000)).toEqual([]);
    t.suspect('n2', 1_500);
    expect(t.transitions(1_500)).toEqual([
      { nodeId: 'n2', up: false, suspected: true, phi: t.of('n2', 1_500).phi },
    ]);
    expect(t.transitions(1_500)).toEqual([]);
    expect(t.transitions(2_500)).toEqual([]);
    t.heard('n2', 2_600);
    expect(t.transitions(2_600)).toEqual([
      expect.objectContaining({ nodeId: 'n2', up: true, suspected: false }),
    ]);
    expect(t.transitions(2_700)).toEqual([]);
  });

  it('matches the changes of isUp over a seeded run of heartbeats, silences and suspicions', () => {
    const rng = seededRng(2024);
    const t = table(0);
    const ids = ['n2', 'n3'];
    const upBefore = new Map(ids.map((id) => [id, true]));
    const silentUntilMs = new Map(ids.map((id) => [id, 0]));
    let changes = 0;
    for (let nowMs = 100; nowMs <= 300_000; nowMs += 100) {
      for (const id of ids) drive(t, id, nowMs, rng, silentUntilMs);
      const expected = ids.filter((id) => t.isUp(id, nowMs) !== upBefore.get(id));
      const reported = t.transitions(nowMs);
      expect(reported.map((x) => x.nodeId)).toEqual(expected);
      for (const x of reported) {
        expect(x.up).toBe(!upBefore.get(x.nodeId));
        upBefore.set(x.nodeId, x.up);
      }
      changes += reported.length;
    }
    // The run did exercise both directions, many times.
    expect(changes).toBeGreaterThan(20);
  });
});

/** One 100 ms step of a member's life: heard each second unless in a silence; now and then suspected or silenced. */
function drive(
  t: LivenessTable,
  id: string,
  nowMs: number,
  rng: () => number,
  silentUntilMs: Map<string, number>,
): void {
  const roll = rng();
  if (roll < 0.002) silentUntilMs.set(id, nowMs + 3_000 + Math.floor(rng() * 10_000));
  else if (roll < 0.006) t.suspect(id, nowMs);
  if (nowMs % gossipIntervalMs === 0 && nowMs >= (silentUntilMs.get(id) ?? 0)) t.heard(id, nowMs);
}

describe('LivenessTable: self and unknown members', () => {
  it('always has self up, whatever happens', () => {
    const t = table(0);
    t.suspect('n1', 100);
    t.heard('n1', 200);
    for (const nowMs of [0, 100, 10_000, 3_600_000])
      expect(t.of('n1', nowMs)).toEqual({ up: true, routable: true, phi: 0, suspected: false });
    expect(t.transitions(3_600_000).map((x) => x.nodeId)).not.toContain('n1');
  });

  it('has unknown ids down, ignores suspicion of them, and learns a new id from heard()', () => {
    const t = table(0);
    const unknown = { up: false, routable: false, phi: Number.POSITIVE_INFINITY, suspected: false };
    expect(t.of('n9', 1_000)).toEqual(unknown);
    t.suspect('n9', 1_000);
    expect(t.of('n9', 1_000)).toEqual(unknown);
    t.heard('n9', 2_000);
    expect(t.of('n9', 2_000)).toMatchObject({ up: true, suspected: false });
    expect(t.of('n9', 2_000).phi).toBeLessThan(options.phiThreshold);
    // Once known, it is detected like any member.
    expect(t.isUp('n9', 2_000 + silenceUntilDown(t, 'n9', 2_000))).toBe(false);
  });

  it('tolerates a clock that steps back: the heartbeat counts as just now', () => {
    const t = table(0);
    t.heard('n2', 5_000);
    expect(() => t.heard('n2', 4_999)).not.toThrow();
    expect(t.isUp('n2', 5_000)).toBe(true);
  });
});
