import { Server, ServerCredentials } from '@grpc/grpc-js';
import { PeerService, type GossipResponse, type PeerServer } from '@ringstore/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { RingstoreError, refused, ringStale, suspectsPeer } from '../errors.js';
import { createLogger } from '../logger.js';
import { serveLink, unfenced, type LinkHandlers, type RequestCase } from './link.js';
import { Peers } from './peers.js';

const log = createLogger({ level: 'silent', nodeId: 'test', pretty: false });

/** One function answering every Link message kind (the tests' peers are not real roles). */
type AnyHandler = (
  kind: RequestCase,
  request: { key?: Buffer; ringVersion?: bigint },
) => Promise<unknown>;

function handlersOf(handler: AnyHandler): LinkHandlers {
  const kinds: RequestCase[] = [
    'replicate',
    'read',
    'forwardGet',
    'forwardPut',
    'forwardDelete',
    'handoff',
    'reap',
  ];
  const table = Object.fromEntries(
    kinds.map((k) => [k, (req: { key?: Buffer }) => handler(k, req)]),
  );
  return table as unknown as LinkHandlers;
}

const gossipReply: GossipResponse = { members: [], ring: undefined };

/** A peer that serves the Link stream with the given handler, and answers Gossip. */
async function startPeer(handler: AnyHandler, port = 0): Promise<{ server: Server; port: number }> {
  const server = new Server();
  const unimplemented = (_call: unknown, cb: (e: Error) => void): void => cb(new Error('unused'));
  const impl: PeerServer = {
    link: (call) => serveLink(call, handlersOf(handler), log),
    gossip: (_call, cb) => cb(null, gossipReply),
    merkleLevel: unimplemented,
    segmentKeys: unimplemented,
    fetchRing: unimplemented,
    pushRing: unimplemented,
  };
  server.addService(PeerService, impl);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port: bound };
}

const echo: AnyHandler = (kind, req) => {
  if (kind === 'read')
    return Promise.resolve({ found: true, object: Buffer.from(req.key ?? ''), corrupt: false });
  if (kind === 'reap') return Promise.reject(new RingstoreError('unavailable', 'stopped mid-way'));
  if (kind === 'forwardPut')
    return Promise.reject(refused('resource-exhausted', 'overloaded before anything was written'));
  return Promise.reject(new RingstoreError('invalid-argument', `no ${kind} here`));
};

function read(
  links: Peers,
  key: string,
  timeoutMs = 2_000,
): Promise<{ found: boolean; object: Buffer }> {
  return links.request(
    'p',
    { $case: 'read', value: { partition: 1, key: Buffer.from(key), ...unfenced } },
    timeoutMs,
  );
}

describe('Peers', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('carries many concurrent requests over one link and matches every reply to its request', async () => {
    const peer = await startPeer(echo);
    const links = new Peers('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    const keys = Array.from({ length: 2_000 }, (_, i) => `k${i}`);
    const replies = await Promise.all(keys.map((k) => read(links, k)));
    expect(replies.map((r) => r.object.toString())).toEqual(keys);
  });

  it('after a "ring stale" answer pulls the ring and sends the request once more under it', async () => {
    const seen: bigint[] = [];
    const fenced: AnyHandler = (kind, req) => {
      const version = (req as { ringVersion?: bigint }).ringVersion ?? 0n;
      seen.push(version);
      if (version < 5n)
        return Promise.reject(
          ringStale(1, { term: 1, version: Number(version) }, { term: 1, version: 5 }, 5),
        );
      return Promise.resolve({ found: false, object: Buffer.alloc(0), corrupt: false });
    };
    const peer = await startPeer(fenced);
    const links = new Peers('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    let pulls = 0;
    let held = 3n;
    links.onRingStale = (_id, ring) => {
      pulls++;
      held = BigInt(ring.version);
      return Promise.resolve(true);
    };
    links.fence = () => ({ ringTerm: 1n, ringVersion: held });
    const value = { partition: 1, key: Buffer.from('k'), ringTerm: 1n, ringVersion: 3n };
    await links.request('p', { $case: 'read', value }, 2_000);
    expect([pulls, seen]).toEqual([1, [3n, 5n]]);
    // A pull that does not bring the ring up to date: the refusal is the answer, no resend.
    seen.length = 0;
    links.onRingStale = () => Promise.resolve(false);
    held = 3n;
    const refusedAgain = links.request('p', { $case: 'read', value }, 2_000);
    await expect(refusedAgain).rejects.toThrow(/ring stale/);
    expect(seen).toEqual([3n]);
  });

  it('turns a peer error reply into a RingstoreError with the same code', async () => {
    const peer = await startPeer(echo);
    const links = new Peers('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    const request = links.request(
      'p',
      {
        $case: 'replicate',
        value: {
          partition: 1,
          key: Buffer.from('k'),
          object: Buffer.alloc(0),
          hintFor: '',
          ...unfenced,
        },
      },
      2_000,
    );
    await expect(request).rejects.toMatchObject({
      code: 'invalid-argument',
      message: expect.stringMatching(/no replicate here/) as unknown,
    });
  });

  it('carries the failure detail of an error reply: a refusal proves nothing was applied', async () => {
    const peer = await startPeer(echo);
    const links = new Peers('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    const put = { key: Buffer.from('k'), value: Buffer.alloc(0), context: Buffer.alloc(0) };
    const request = links.request(
      'p',
      { $case: 'forwardPut', value: { ...put, w: 0, strictQuorum: false } },
      2_000,
    );
    await expect(request).rejects.toMatchObject({
      code: 'resource-exhausted',
      failure: { applied: 'none' },
    });
    // An error reply without a proof stays "maybe applied".
    const reap = links.request(
      'p',
      {
        $case: 'reap',
        value: { partition: 1, key: Buffer.from('k'), object: Buffer.alloc(0), ...unfenced },
      },
      2_000,
    );
    await expect(reap).rejects.toMatchObject({
      code: 'unavailable',
      failure: { applied: 'maybe' },
    });
  });

  it('sends the rare unary calls (gossip) to the same peer as the link', async () => {
    const peer = await startPeer(echo);
    const links = new Peers('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    await expect(read(links, 'k')).resolves.toMatchObject({ found: true });
    await expect(
      links.gossip('p', { from: 'self', members: [], ring: undefined }, 2_000),
    ).resolves.toEqual(gossipReply);
  });

  it('fails a request that gets no reply at its own deadline', async () => {
    const peer = await startPeer(() => new Promise(() => undefined));
    const links = new Peers('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    await expect(read(links, 'hangs', 200)).rejects.toMatchObject({ code: 'deadline-exceeded' });
  });

  it('reports every answer with its send time, and marks a failure older than an answer stale', async () => {
    // Keys starting with "slow" hang; the others are answered (a reply) or refused (an error the
    // peer sent): both are answers.
    const peer = await startPeer((kind, req) =>
      req.key?.toString().startsWith('slow') === true
        ? new Promise(() => undefined)
        : echo(kind, req),
    );
    const links = new Peers('self', () => `127.0.0.1:${peer.port}`, log);
    const answers: { nodeId: string; sentAtMs: number }[] = [];
    links.onAnswered = (nodeId, sentAtMs) => answers.push({ nodeId, sentAtMs });
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    // No answer yet: a timeout is a reason to suspect.
    const lonely = await read(links, 'slow-0', 200).catch((e: unknown) => e);
    expect(lonely).toMatchObject({ code: 'deadline-exceeded', staleAfterAnswer: false });
    expect(suspectsPeer(lonely)).toBe(true);

    const slow = read(links, 'slow-1', 400).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const beforeMs = performance.now();
    await read(links, 'fast');
    expect(answers).toEqual([{ nodeId: 'p', sentAtMs: expect.any(Number) as number }]);
    expect(answers[0]!.sentAtMs).toBeGreaterThanOrEqual(beforeMs);
    // Sent before the answered one: its timeout says nothing new about the peer.
    const stale = await slow;
    expect(stale).toMatchObject({ code: 'deadline-exceeded', staleAfterAnswer: true });
    expect(suspectsPeer(stale)).toBe(false);

    // An error the peer sent is an answer too.
    await expect(
      links.request('p', { $case: 'handoff', value: { objects: [] } }, 2_000),
    ).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(answers).toHaveLength(2);
    // A request sent after the newest answer that gets none is a reason to suspect again.
    const fresh = await read(links, 'slow-2', 200).catch((e: unknown) => e);
    expect(suspectsPeer(fresh)).toBe(true);
  });

  it('fails in-flight requests at once when the link breaks, and redials once the peer is back', async () => {
    const hanging = await startPeer(() => new Promise(() => undefined));
    const port = hanging.port;
    const links = new Peers('self', () => `127.0.0.1:${port}`, log);
    cleanups.push(() => links.close());
    const inflight = Array.from({ length: 10 }, (_, i) => read(links, `lost-${i}`, 30_000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const brokeAtMs = Date.now();
    hanging.server.forceShutdown();
    const outcomes = await Promise.allSettled(inflight);
    // Long before their 30 s deadlines: the broken stream failed them.
    expect(Date.now() - brokeAtMs).toBeLessThan(5_000);
    for (const o of outcomes)
      expect(o).toMatchObject({ status: 'rejected', reason: { code: 'unavailable' } });

    const back = await startPeer(echo, port);
    cleanups.push(() => back.server.forceShutdown());
    let reply: { object: Buffer } | undefined;
    for (let attempt = 0; attempt < 100 && reply === undefined; attempt++) {
      reply = await read(links, 'again', 1_000).catch(
        () => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50)),
      );
    }
    expect(reply?.object.toString()).toBe('again');
  });

  it('redials a restarted peer at once, but leaves a working link alone', async () => {
    const first = await startPeer(echo);
    const port = first.port;
    const links = new Peers('self', () => `127.0.0.1:${port}`, log);
    cleanups.push(() => links.close());
    await expect(read(links, 'up')).resolves.toMatchObject({ found: true });
    first.server.forceShutdown();
    // Requests while it is down build up the link's reconnect backoff (up to 2 s).
    for (let i = 0; i < 8; i++) await read(links, `down-${i}`, 200).catch(() => undefined);
    const back = await startPeer(echo, port);
    cleanups.push(() => back.server.forceShutdown());
    links.redial('p');
    await expect(read(links, 'back', 1_000)).resolves.toMatchObject({ found: true });
    // Now both the channel and the link carry traffic: a redial must not break a request.
    const slow = new Promise<unknown>((resolve) => setTimeout(resolve, 100)).then(() =>
      read(links, 'in-flight', 2_000),
    );
    links.redial('p');
    await expect(slow).resolves.toMatchObject({ found: true });
    const inFlight = read(links, 'during-redial', 2_000);
    links.redial('p');
    await expect(inFlight).resolves.toMatchObject({ found: true });
  });

  it('refuses a node it has no address for, as a request that was never sent', async () => {
    const links = new Peers('self', () => undefined, log);
    cleanups.push(() => links.close());
    await expect(read(links, 'k')).rejects.toMatchObject({
      code: 'unavailable',
      failure: { applied: 'none' },
      message: expect.stringMatching(/unknown node p/) as unknown,
    });
  });
});
