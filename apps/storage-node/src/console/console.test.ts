import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import type {
  KeyInspection,
  Member,
  PartitionAntiEntropy,
  Ring as RingMessage,
} from '@ringstore/proto';
import { claim, partitionOf, preferenceList } from '@ringstore/ring';
import { validateKey } from '../roles/coordinator/validate.js';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../security/roles.js';
import { parseTokenFile } from '../security/tokens.js';
import { ConsoleApi, readablePhi, type ConsoleSources } from './api.js';
import { RequestHistory, quantile } from './history.js';
import { consoleHandler } from './http.js';
import { WarningLog } from './warnings.js';

const ids = ['n1', 'n2', 'n3'];
const readRing = claim(
  ids.map((id) => ({ id, zone: '' })),
  { partitionCount: 16, replicas: 3 },
);

function ringMessage(): RingMessage {
  return {
    version: 4n,
    partitionCount: 16,
    replicas: 3,
    nodes: ids.map((id) => ({
      id,
      address: `127.0.0.1:${id}`,
      zone: '',
      status: 'valid',
      peerAddress: '',
    })),
    owners: [...readRing.owners],
    term: 1n,
    clusterId: 'c1',
    claimant: 'n1',
    nextOwners: [],
    transfers: [{ partition: 3, added: ['n4'], removed: ['n2'], state: 'streaming', since: 4n }],
  };
}

function member(id: string, alive: boolean, phi: number, heartbeat: bigint): Member {
  return {
    node: { id, address: '', zone: '', status: 'up', peerAddress: '' },
    alive,
    phi,
    heartbeat,
    generation: 7n,
    suspected: false,
  };
}

function sources(over: Partial<ConsoleSources> = {}): ConsoleSources & { beats: bigint } {
  const registry = new Registry();
  const requests = new Counter({
    name: 'r_total',
    help: 'h',
    labelNames: ['op', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'ringstore_request_seconds',
    help: 'h',
    labelNames: ['op'] as const,
    buckets: [0.001, 0.01],
    registers: [registry],
  });
  const s = {
    beats: 10n,
    nodeId: 'n1',
    version: '9.9.9',
    ring: ringMessage,
    // The KeyInspector's placement part, over the same ring (its own tests cover the rest).
    inspect(key: Uint8Array): KeyInspection {
      validateKey(key, { keyBytesMax: 1024, valueBytesMax: 1, replicas: 3 });
      const partition = partitionOf(key, 16);
      const isUp = (id: string) => id !== 'n3';
      return {
        position: createHash('md5').update(key).digest('hex'),
        partition,
        preferenceList: preferenceList(readRing, partition, 3, isUp).map((e) => ({
          node: e.nodeId,
          hintFor: e.hintFor ?? '',
        })),
      } as KeyInspection;
    },
    members(): Member[] {
      return [
        member('n1', true, 0, 1n),
        member('n2', true, 0.5, s.beats),
        member('n3', false, Number.MAX_VALUE, 3n),
      ];
    },
    isUp: (id: string) => id !== 'n3',
    applied: () => new Map([['n1', 4]]),
    transfers: () => ({
      inbound: [],
      limits: { concurrency: 2, objectsPerSecond: 0n, bytesPerSecond: 0n },
    }),
    hints: () => new Map([['n3', 5]]),
    antiEntropy: (): PartitionAntiEntropy[] => [
      {
        partition: 0,
        lastExchangeMs: 1000n,
        lastPeer: 'n2',
        exchanges: 1n,
        differences: 2n,
        repairs: 2n,
        tombstonesReaped: 0n,
        root: 'ab',
        keys: 5n,
      },
      {
        partition: 1,
        lastExchangeMs: 0n,
        lastPeer: '',
        exchanges: 0n,
        differences: 0n,
        repairs: 0n,
        tombstonesReaped: 0n,
        root: '',
        keys: 0n,
      },
    ],
    aeIntervalMs: 10_000,
    requests: new RequestHistory(requests, latency),
    warnings: new WarningLog(3),
    serving: () => true,
    ...over,
  };
  return s;
}

const body = (r: { body: unknown }) => r.body as Record<string, unknown>;

describe('ConsoleApi', () => {
  it('overview: ring status and liveness apart, phi readable, heartbeat age from when it moved', () => {
    let now = 50_000;
    const s = sources();
    const api = new ConsoleApi(s, () => now);
    api.observeHeartbeats();
    now += 3_000;
    const o = body(api.handle('overview', new URLSearchParams()));
    const members = o['members'] as Record<string, unknown>[];
    expect(members.map((m) => [m['id'], m['status'], m['liveness'], m['phi']])).toEqual([
      ['n1', 'valid', 'up', 0],
      ['n2', 'valid', 'up', 0.5],
      ['n3', 'valid', 'down', 'inf'],
    ]);
    expect(members[1]!['heartbeatAgeMs']).toBe(3_000);
    // A new heartbeat resets the age.
    s.beats = 11n;
    const again = body(api.handle('overview', new URLSearchParams()))['members'] as Record<
      string,
      unknown
    >[];
    expect(again[1]!['heartbeatAgeMs']).toBe(0);
    expect(members.map((m) => m['ringVersion'])).toEqual([4, null, null]);
    const owned = members.map((m) => m['partitionsOwned'] as number);
    expect(owned.reduce((a, b) => a + b, 0)).toBe(16);
    expect(o['ring']).toMatchObject({ version: 4, partitions: 16, replicas: 3, claimant: 'n1' });
  });

  it('key: position, partition and preference list, with a fallback for a down primary', () => {
    const api = new ConsoleApi(sources());
    const r = api.handle('key', new URLSearchParams({ key: 'user:42' }));
    expect(r.status).toBe(200);
    const k = body(r);
    expect(k['partition']).toBe(partitionOf(Buffer.from('user:42'), 16));
    expect(k['position']).toMatch(/^[0-9a-f]{32}$/);
    const list = k['preferenceList'] as { node: string; hintFor: string | null; up: boolean }[];
    // Three nodes, n3 down: no fallback is left, so it is omitted.
    expect(list.map((e) => e.node).sort()).toEqual(['n1', 'n2']);
    expect(list.every((e) => e.up && e.hintFor === null)).toBe(true);
    const hex = api.handle('key', new URLSearchParams({ key: '757365723a3432', encoding: 'hex' }));
    expect(body(hex)['partition']).toBe(k['partition']);
  });

  it('key: bad input is a 400 with a message, never a throw', () => {
    const api = new ConsoleApi(sources());
    for (const [q, message] of [
      [{}, /key is empty/],
      [{ key: 'x'.repeat(1025) }, /key is 1025 bytes: the limit is 1024 bytes/],
      [{ key: 'x'.repeat(6_000_000) }, /longer than \d+ characters/],
      [{ key: 'abc', encoding: 'hex' }, /not hex/],
      [{ key: 'a', encoding: 'latin1' }, /utf8, hex or base64/],
    ] as const) {
      const r = api.handle('key', new URLSearchParams(q));
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toMatch(message);
    }
    expect(api.handle('nope', new URLSearchParams()).status).toBe(404);
  });

  it('anti-entropy: the time of a full round, hints with their target liveness', () => {
    const api = new ConsoleApi(sources());
    const ae = body(api.handle('anti-entropy', new URLSearchParams()));
    expect(ae['fullRoundMs']).toBe(20_000); // 2 partitions held, one every 10 s
    expect((ae['partitions'] as unknown[]).length).toBe(2);
    const h = body(api.handle('hints', new URLSearchParams()));
    expect(h['targets']).toEqual([{ target: 'n3', pending: 5, up: false }]);
    const t = body(api.handle('transfers', new URLSearchParams()));
    expect(t['transitions']).toEqual([
      { partition: 3, added: ['n4'], removed: ['n2'], state: 'streaming', since: 4 },
    ]);
  });

  it('readablePhi: inf for a member never heard from, 2 decimals otherwise', () => {
    expect(readablePhi(Number.MAX_VALUE)).toBe('inf');
    expect(readablePhi(Infinity)).toBe('inf');
    expect(readablePhi(1.23456)).toBe(1.23);
  });
});

describe('RequestHistory', () => {
  it('turns counter and histogram differences into rates and percentiles', async () => {
    const registry = new Registry();
    const requests = new Counter({
      name: 'req_total',
      help: 'h',
      labelNames: ['op', 'status'] as const,
      registers: [registry],
    });
    const latency = new Histogram({
      name: 'ringstore_request_seconds',
      help: 'h',
      labelNames: ['op'] as const,
      buckets: [0.001, 0.01, 0.1],
      registers: [registry],
    });
    let now = 0;
    const h = new RequestHistory(requests, latency, 5_000, 2, () => now);
    requests.inc({ op: 'put', status: 'OK' }, 100); // before the first reading: not counted
    await h.sample();
    expect(h.list()).toEqual([]);
    now = 5_000;
    requests.inc({ op: 'put', status: 'OK' }, 45);
    requests.inc({ op: 'put', status: 'UNAVAILABLE' }, 5);
    for (let i = 0; i < 50; i++) latency.observe({ op: 'put' }, i < 40 ? 0.0005 : 0.05);
    await h.sample();
    const [s] = h.list();
    expect(s!.seconds).toBe(5);
    expect(s!.ops['put']!.rate).toBe(10);
    expect(s!.ops['put']!.errorRate).toBe(1);
    expect(s!.ops['put']!.p50).toBeLessThanOrEqual(0.001);
    expect(s!.ops['put']!.p99).toBeGreaterThan(0.01);
    // Bounded: the oldest sample goes.
    for (const t of [10_000, 15_000]) {
      now = t;
      await h.sample();
    }
    expect(h.list().map((x) => x.at)).toEqual([10_000, 15_000]);
    expect(h.list()[1]!.ops['put']!.rate).toBe(0);
    expect(h.list()[1]!.ops['put']!.p50).toBeNull();
  });

  it('quantile interpolates inside a bucket and stops at the last finite bound', () => {
    const b: [number, number][] = [
      [1, 10],
      [2, 20],
      [Infinity, 21],
    ];
    expect(quantile(b, 0.5)).toBeCloseTo(1.05, 5);
    expect(quantile(b, 1)).toBe(2);
    expect(quantile([[1, 0]], 0.5)).toBeNull();
  });
});

describe('WarningLog', () => {
  it('keeps the newest warnings only, with scalar fields, and ignores info', () => {
    const w = new WarningLog(2);
    w.add(30, { a: 1 }, 'info line', 1);
    w.add(40, { peer: 'n2', phi: 9, nested: { no: 1 } }, 'peer is down', 2);
    w.add(50, { err: new Error('disk full') }, 'write failed', 3);
    w.add(40, {}, 'x'.repeat(600), 4);
    const list = w.list();
    expect(list.map((x) => x.at)).toEqual([4, 3]);
    expect(list[0]!.msg.length).toBe(500);
    expect(list[1]).toMatchObject({ level: 'error', fields: { err: 'disk full' } });
    const early = new WarningLog(5);
    early.add(40, { peer: 'n2', phi: 9, nested: { no: 1 } }, 'peer is down', 2);
    expect(early.list()[0]!.fields).toEqual({ peer: 'n2', phi: 9 });
  });
});

describe('the console over HTTP', () => {
  const tokens = parseTokenFile(
    'admin-token-0123456789 admin ops\nread-token-0123456789ab read app\n',
  );
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const handler = consoleHandler({
      api: new ConsoleApi(sources()),
      authorize: (header) => authorize(tokens, '/ringstore.console/Api', header),
    });
    server = createServer((req, res) => {
      if (!handler(req, res)) res.writeHead(404).end('other');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (path: string, token?: string, method = 'GET') =>
    fetch(`${base}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });

  it('serves the page and its files to anyone, with a strict content security policy', async () => {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/console.js', 'text/javascript'],
      ['/console.css', 'text/css'],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(await (await get('/')).text()).toContain('<script src="/console.js"');
    // Anything else is the caller's (here: "other"), not a file read from disk.
    expect(await (await get('/../package.json')).text()).toBe('other');
    expect(await (await get('/metrics')).text()).toBe('other');
  });

  it('the API needs an admin token when tokens are on: 401 without, 403 for a reader', async () => {
    const none = await get('/api/overview');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.json()).toEqual({
      error: { code: 'UNAUTHENTICATED', message: 'missing bearer token' },
    });
    const reader = await get('/api/overview', 'read-token-0123456789ab');
    expect(reader.status).toBe(403);
    expect(((await reader.json()) as { error: { code: string } }).error.code).toBe(
      'PERMISSION_DENIED',
    );
    expect((await get('/api/overview', 'not-a-token-at-all-xx')).status).toBe(401);
    const admin = await get('/api/overview', 'admin-token-0123456789');
    expect(admin.status).toBe(200);
    expect(admin.headers.get('cache-control')).toBe('no-store');
    expect(((await admin.json()) as { node: string }).node).toBe('n1');
    const bad = await get('/api/key?key=', 'admin-token-0123456789');
    expect(bad.status).toBe(400);
    expect((await get('/api/overview', 'admin-token-0123456789', 'POST')).status).toBe(405);
  });
});
