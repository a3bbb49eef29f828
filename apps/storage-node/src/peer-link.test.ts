import { Server, ServerCredentials } from '@grpc/grpc-js';
import { PeerService, type PeerServer } from '@ringstore/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { RingstoreError } from './errors.js';
import { createLogger } from './logger.js';
import { PeerLinks, serveLink, type LinkHandler } from './peer-link.js';

const log = createLogger({ level: 'silent', nodeId: 'test', pretty: false });

/** A peer that serves only the Link stream, with the given handler. */
async function startPeer(
  handler: LinkHandler,
  port = 0,
): Promise<{ server: Server; port: number }> {
  const server = new Server();
  const unimplemented = (_call: unknown, cb: (e: Error) => void): void => cb(new Error('unused'));
  const impl: PeerServer = {
    link: (call) => serveLink(call, handler, log),
    gossip: unimplemented,
    merkleLevel: unimplemented,
    segmentKeys: unimplemented,
  };
  server.addService(PeerService, impl);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port: bound };
}

const echo: LinkHandler = (body) => {
  if (body.$case === 'read')
    return Promise.resolve({
      $case: 'readReply',
      value: { found: true, object: Buffer.from(body.value.key), corrupt: false },
    });
  return Promise.reject(new RingstoreError('invalid-argument', `no ${body.$case} here`));
};

function read(
  links: PeerLinks,
  key: string,
  timeoutMs = 2_000,
): Promise<{ found: boolean; object: Buffer }> {
  return links.request(
    'p',
    { $case: 'read', value: { partition: 1, key: Buffer.from(key) } },
    timeoutMs,
  );
}

describe('PeerLinks', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('carries many concurrent requests over one link and matches every reply to its request', async () => {
    const peer = await startPeer(echo);
    const links = new PeerLinks('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    const keys = Array.from({ length: 2_000 }, (_, i) => `k${i}`);
    const replies = await Promise.all(keys.map((k) => read(links, k)));
    expect(replies.map((r) => r.object.toString())).toEqual(keys);
  });

  it('turns a peer error reply into a RingstoreError with the same code', async () => {
    const peer = await startPeer(echo);
    const links = new PeerLinks('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    const request = links.request(
      'p',
      {
        $case: 'replicate',
        value: { partition: 1, key: Buffer.from('k'), object: Buffer.alloc(0), hintFor: '' },
      },
      2_000,
    );
    await expect(request).rejects.toMatchObject({
      code: 'invalid-argument',
      message: expect.stringMatching(/no replicate here/) as unknown,
    });
  });

  it('fails a request that gets no reply at its own deadline', async () => {
    const peer = await startPeer(() => new Promise(() => undefined));
    const links = new PeerLinks('self', () => `127.0.0.1:${peer.port}`, log);
    cleanups.push(
      () => links.close(),
      () => peer.server.forceShutdown(),
    );
    await expect(read(links, 'hangs', 200)).rejects.toMatchObject({ code: 'deadline-exceeded' });
  });

  it('fails in-flight requests at once when the link breaks, and redials once the peer is back', async () => {
    const hanging = await startPeer(() => new Promise(() => undefined));
    const port = hanging.port;
    const links = new PeerLinks('self', () => `127.0.0.1:${port}`, log);
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

  it('refuses a node it has no address for', async () => {
    const links = new PeerLinks('self', () => undefined, log);
    cleanups.push(() => links.close());
    await expect(read(links, 'k')).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/unknown node p/) as unknown,
    });
  });
});
