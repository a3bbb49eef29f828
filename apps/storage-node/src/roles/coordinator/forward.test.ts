import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { status } from '@grpc/grpc-js';
import { Applied } from '@ringstore/proto';
import { RingstoreError, fromErrorReply, refused, type ErrorCode } from '../../errors.js';
import { Metrics } from '../../metrics.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { Forwarder, forwardOrder, mayFailOver, type Op } from './forward.js';

const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id, i) => ({
  id,
  address: `127.0.0.1:${7_201 + i}`,
}));
const view = ClusterView.ofNodes('n1', nodes, 64, 3);
const partition = 0;
const [first, second, third] = view.primaries(partition) as [string, string, string];
const startMs = 1_000_000;
const deadlineMs = startMs + 1_000;

const maybe = (code: ErrorCode) => new RingstoreError(code, `${code}, may have been applied`);

describe('mayFailOver', () => {
  it('moves a read on after any unavailable or resource-exhausted, applied or not', () => {
    for (const code of ['unavailable', 'resource-exhausted'] as const) {
      expect(mayFailOver('get', maybe(code))).toBe(true);
      expect(mayFailOver('get', refused(code, 'refused'))).toBe(true);
    }
  });

  it('moves a write on only when its failure says it was applied nowhere', () => {
    for (const op of ['put', 'delete'] as const) {
      for (const code of ['unavailable', 'resource-exhausted'] as const) {
        expect(mayFailOver(op, refused(code, 'refused before writing'))).toBe(true);
        expect(mayFailOver(op, maybe(code))).toBe(false);
      }
    }
  });

  it('never moves on after bad input, a passed deadline, a cancel or a bug', () => {
    const codes: ErrorCode[] = [
      'invalid-argument',
      'deadline-exceeded',
      'failed-precondition',
      'cancelled',
      'internal',
    ];
    for (const op of ['get', 'put', 'delete'] as const)
      for (const code of codes)
        expect(mayFailOver(op, refused(code, code)), `${op} ${code}`).toBe(false);
  });
});

describe('forwardOrder', () => {
  it('puts the up replicas first and the down ones last, each in preference order', () => {
    const down = new Set(['a', 'c']);
    expect(forwardOrder(['a', 'b', 'c', 'd'], (id) => !down.has(id))).toEqual(['b', 'd', 'a', 'c']);
    expect(forwardOrder(['a', 'b'], () => true)).toEqual(['a', 'b']);
  });
});

interface Attempt {
  readonly nodeId: string;
  readonly timeoutMs: number;
}

/** A send that records each attempt and answers with `answer(nodeId)`, after `takesMs` of clock. */
function sender(answer: (nodeId: string) => Promise<string>, takesMs = 0) {
  const attempts: Attempt[] = [];
  const send = async (nodeId: string, timeoutMs: number): Promise<string> => {
    attempts.push({ nodeId, timeoutMs });
    vi.setSystemTime(Date.now() + takesMs);
    return answer(nodeId);
  };
  return { attempts, send };
}

function fixture() {
  const liveness = new FakeLiveness();
  const metrics = new Metrics();
  return { liveness, metrics, forwarder: new Forwarder(view, liveness, metrics) };
}

async function forwardedCount(metrics: Metrics, op: Op): Promise<number> {
  const metric = await metrics.registry
    .getSingleMetric('ringstore_forwarded_requests_total')
    ?.get();
  return metric?.values.find((v) => v.labels['op'] === op)?.value ?? 0;
}

beforeEach(() => {
  vi.useFakeTimers({ now: startMs });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Forwarder', () => {
  it("answers the first replica's reply, timed by the time left; counts it", async () => {
    const f = fixture();
    const s = sender((id) => Promise.resolve(`from ${id}`));
    expect(await f.forwarder.forward('get', partition, deadlineMs, s.send)).toBe(`from ${first}`);
    expect(s.attempts).toEqual([{ nodeId: first, timeoutMs: 1_000 }]);
    expect(f.forwarder.forwarded).toBe(1);
    expect(await forwardedCount(f.metrics, 'get')).toBe(1);
  });

  it('tries the up replicas first, in preference order', async () => {
    const f = fixture();
    f.liveness.down.add(first);
    const s = sender((id) =>
      id === second ? Promise.reject(refused('unavailable', 'busy')) : Promise.resolve(id),
    );
    expect(await f.forwarder.forward('put', partition, deadlineMs, s.send)).toBe(third);
    expect(s.attempts.map((a) => a.nodeId)).toEqual([second, third]);
  });

  it('tries a suspected replica whose retry wait has passed in its preference place', async () => {
    const f = fixture();
    f.liveness.down.add(first);
    f.liveness.retrying.add(first);
    const s = sender((id) => Promise.resolve(id));
    expect(await f.forwarder.forward('put', partition, deadlineMs, s.send)).toBe(first);
    expect(s.attempts.map((a) => a.nodeId)).toEqual([first]);
  });

  it('fails a write over when nothing was applied; suspects the replica', async () => {
    const f = fixture();
    const s = sender((id) =>
      id === first
        ? Promise.reject(refused('resource-exhausted', 'overloaded'))
        : Promise.resolve(id),
    );
    expect(await f.forwarder.forward('put', partition, deadlineMs, s.send)).toBe(second);
    expect(s.attempts.map((a) => a.nodeId)).toEqual([first, second]);
    expect(f.liveness.suspicions).toEqual([{ nodeId: first, reason: 'overloaded' }]);
  });

  it('fails over without suspecting a replica that answered (its quorum failed, it is alive)', async () => {
    const f = fixture();
    // As the link delivers it: the replica's own ErrorReply (it coordinated, W was out of reach).
    const answered = fromErrorReply(first, {
      code: status.UNAVAILABLE,
      message: 'only 1 replicas available',
      failure: { applied: Applied.APPLIED_NONE, acked: 0, needed: 2, tried: 1 },
      ringStale: false,
      ringTerm: 0n,
      ringVersion: 0n,
    });
    const s = sender((id) => (id === first ? Promise.reject(answered) : Promise.resolve(id)));
    expect(await f.forwarder.forward('put', partition, deadlineMs, s.send)).toBe(second);
    expect(s.attempts.map((a) => a.nodeId)).toEqual([first, second]);
    expect(f.liveness.suspicions).toEqual([]);
  });

  it('keeps a write that may be applied on its replica: never written twice', async () => {
    const f = fixture();
    const failure = new RingstoreError('unavailable', 'put acked 1 of W=2', {
      applied: 'maybe',
      acked: 1,
      needed: 2,
      tried: 3,
    });
    const s = sender(() => Promise.reject(failure));
    await expect(f.forwarder.forward('delete', partition, deadlineMs, s.send)).rejects.toBe(
      failure,
    );
    expect(s.attempts.map((a) => a.nodeId)).toEqual([first]);
    expect(f.liveness.suspicions).toEqual([]);
  });

  it('fails a read over; throws the last error when every replica failed', async () => {
    const f = fixture();
    const s = sender((id) => Promise.reject(new RingstoreError('unavailable', `${id} down`)));
    await expect(f.forwarder.forward('get', partition, deadlineMs, s.send)).rejects.toThrow(
      `${third} down`,
    );
    expect(s.attempts.map((a) => a.nodeId)).toEqual([first, second, third]);
    expect(f.liveness.suspicions.map((x) => x.nodeId)).toEqual([first, second, third]);
  });

  it('gives each attempt the time left; stops once the deadline passed', async () => {
    const f = fixture();
    // Each failed attempt takes 600 ms: the second starts with 400 ms left, no third starts.
    const s = sender((id) => Promise.reject(refused('unavailable', `${id} busy`)), 600);
    await expect(f.forwarder.forward('put', partition, deadlineMs, s.send)).rejects.toThrow(
      `${second} busy`,
    );
    expect(s.attempts).toEqual([
      { nodeId: first, timeoutMs: 1_000 },
      { nodeId: second, timeoutMs: 400 },
    ]);
  });

  it('sends nothing when the deadline passed already, failing deadline-exceeded', async () => {
    const f = fixture();
    const s = sender((id) => Promise.resolve(id));
    const e = await f.forwarder.forward('get', partition, startMs, s.send).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RingstoreError);
    expect((e as RingstoreError).code).toBe('deadline-exceeded');
    expect(s.attempts).toEqual([]);
  });
});
