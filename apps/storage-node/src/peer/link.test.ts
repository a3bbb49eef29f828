import { credentials, Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
import { PeerClient, PeerService, type LinkFrame, type PeerServer } from '@ringstore/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { RingstoreError, suspectsPeer } from '../errors.js';
import {
  FrameLateness,
  LinkConnection,
  linkLimitsDefault,
  serveLink,
  unfenced,
  type LinkHandlers,
} from './link.js';
import { LinkTraffic } from './traffic.js';

const log = createLogger({ level: 'silent', nodeId: 'test', pretty: false });

describe('FrameLateness', () => {
  it('measures lag against the fastest trip seen, whatever the two clocks read', () => {
    const l = new FrameLateness();
    // The receiver's clock is 1,000,000 ms ahead of the sender's; trips take 2..3 ms.
    expect(l.of(100, 1_000_102)).toBe(0);
    expect(l.of(200, 1_000_203)).toBe(1);
    expect(l.of(300, 1_000_302)).toBe(0);
    // Held up 7 s on the way (a partition the TCP connection lived through).
    expect(l.of(400, 1_007_402)).toBe(7_000);
    // A faster trip lowers the baseline for what follows.
    expect(l.of(500, 1_000_501)).toBe(0);
    expect(l.of(600, 1_000_603)).toBe(2);
  });

  it('does not judge frames of a sender that does not stamp them', () => {
    const l = new FrameLateness();
    expect(l.of(0, 5_000)).toBe(0);
    expect(l.of(0, 9_000)).toBe(0);
  });

  it('ignores stamps that are not finite (a forged frame), and keeps its baseline', () => {
    const l = new FrameLateness();
    expect(l.of(100, 1_100)).toBe(0);
    expect(l.of(Infinity, 1_200)).toBe(0);
    expect(l.of(Number.NaN, 1_300)).toBe(0);
    expect(l.of(-Infinity, 1_400)).toBe(0);
    expect(l.of(300, 1_310)).toBe(10);
  });
});

describe('serveLink', () => {
  let server: Server | undefined;
  let client: PeerClient | undefined;
  afterEach(async () => {
    client?.close();
    await new Promise<void>((resolve) =>
      server ? server.tryShutdown(() => resolve()) : resolve(),
    );
  });

  it('drops a request that arrives later than its timeout; serves the ones on time', async () => {
    const served: string[] = [];
    const handlers = {
      read: (req: { key: Buffer }) => {
        served.push(req.key.toString());
        return Promise.resolve({ found: false, object: Buffer.alloc(0), corrupt: false });
      },
    } as unknown as LinkHandlers;
    server = new Server();
    const unused = (_c: unknown, cb: (e: Error) => void): void => cb(new Error('unused'));
    const impl: PeerServer = {
      link: (call) => serveLink(call, handlers, log),
      gossip: unused,
      merkleLevel: unused,
      segmentKeys: unused,
      fetchRing: unused,
      pushRing: unused,
    };
    server.addService(PeerService, impl);
    const port = await new Promise<number>((resolve, reject) =>
      server?.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    client = new PeerClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const stream = client.link(new Metadata());
    const replies: bigint[] = [];
    stream.on('data', (f: LinkFrame) => replies.push(...f.messages.map((m) => m.requestId)));
    const read = (id: bigint, key: string, timeoutMs: number) => ({
      requestId: id,
      timeoutMs,
      body: {
        $case: 'read' as const,
        value: { partition: 0, key: Buffer.from(key), ...unfenced },
      },
    });
    // Any origin will do (the receiver compares trips, not clocks); far from 0 so a stamp 5 s
    // earlier stays positive.
    const clock = () => performance.now() + 1_000_000;
    const now = clock();
    stream.write({ messages: [read(1n, 'on-time', 1_000)], sentMs: now });
    // Stamped 5 s before the first: it spent 5 s more on the way than the first did.
    stream.write({ messages: [read(2n, 'late', 1_000)], sentMs: now - 5_000 });
    // As late, but its timeout is longer than the delay: still worth serving.
    stream.write({ messages: [read(3n, 'late-but-patient', 10_000)], sentMs: now - 5_000 });
    stream.write({ messages: [read(4n, 'on-time-again', 1_000)], sentMs: clock() });
    const deadline = Date.now() + 5_000;
    while (replies.length < 3 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(served).toEqual(['on-time', 'late-but-patient', 'on-time-again']);
    expect(replies.sort()).toEqual([1n, 3n, 4n]);
    stream.end();
  });
});

describe('LinkConnection timeouts', () => {
  let server: Server | undefined;
  let client: PeerClient | undefined;
  afterEach(async () => {
    client?.close();
    await new Promise<void>((resolve) =>
      server ? server.tryShutdown(() => resolve()) : resolve(),
    );
  });

  it('marks a timeout noticed long after it was due as a local pause, not the peer', async () => {
    // A peer that takes requests and never answers them.
    server = new Server();
    const unused = (_c: unknown, cb: (e: Error) => void): void => cb(new Error('unused'));
    server.addService(PeerService, {
      link: () => undefined,
      gossip: unused,
      merkleLevel: unused,
      segmentKeys: unused,
      fetchRing: unused,
      pushRing: unused,
    } satisfies PeerServer);
    const port = await new Promise<number>((resolve, reject) =>
      server?.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    client = new PeerClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const link = new LinkConnection('n1', 'n2', client, linkLimitsDefault, log);
    const read = {
      $case: 'read' as const,
      value: { partition: 0, key: Buffer.from('k'), ...unfenced },
    };
    const onTime = await link.request(read, 30).catch((e: unknown) => e);
    expect(onTime).toBeInstanceOf(RingstoreError);
    expect((onTime as RingstoreError).localPause).toBe(false);
    expect(suspectsPeer(onTime)).toBe(true);
    const stalled = link.request(read, 30).catch((e: unknown) => e);
    // This node's event loop stalls (a long GC, a CPU-starved process) past the timer.
    const until = performance.now() + 300;
    while (performance.now() < until);
    const late = await stalled;
    expect((late as RingstoreError).code).toBe('deadline-exceeded');
    expect((late as RingstoreError).localPause).toBe(true);
    expect(suspectsPeer(late)).toBe(false);
    link.close();
  });
});

describe('link traffic counters', () => {
  let server: Server | undefined;
  let client: PeerClient | undefined;
  afterEach(async () => {
    client?.close();
    await new Promise<void>((resolve) =>
      server ? server.tryShutdown(() => resolve()) : resolve(),
    );
  });

  it('counts frames, messages and bytes both ways on both sides, and each redial after a break', async () => {
    const handlers = {
      read: () => Promise.resolve({ found: false, object: Buffer.alloc(0), corrupt: false }),
    } as unknown as LinkHandlers;
    const served = new LinkTraffic();
    const calls: { end(): void }[] = [];
    server = new Server();
    const unused = (_c: unknown, cb: (e: Error) => void): void => cb(new Error('unused'));
    server.addService(PeerService, {
      link: (call) => {
        calls.push(call);
        serveLink(call, handlers, log, linkLimitsDefault, 'n1', served);
      },
      gossip: unused,
      merkleLevel: unused,
      segmentKeys: unused,
      fetchRing: unused,
      pushRing: unused,
    } satisfies PeerServer);
    const port = await new Promise<number>((resolve, reject) =>
      server?.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    client = new PeerClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const sent = new LinkTraffic();
    const limits = { ...linkLimitsDefault, reconnectBackoffMinMs: 1, reconnectBackoffMaxMs: 1 };
    const link = new LinkConnection('n1', 'n2', client, limits, log, sent);
    const read = (key: string) => ({
      $case: 'read' as const,
      value: { partition: 0, key: Buffer.alloc(1000, key), ...unfenced },
    });
    // Three requests in one turn: one frame of three messages each way.
    await Promise.all(['a', 'b', 'c'].map((k) => link.request(read(k), 5_000)));
    expect([
      sent.framesSent,
      sent.messagesSent,
      sent.framesReceived,
      sent.messagesReceived,
    ]).toEqual([1, 3, 1, 3]);
    expect([served.framesReceived, served.messagesReceived, served.framesSent]).toEqual([1, 3, 1]);
    expect(sent.bytesSent).toBeGreaterThanOrEqual(3_000);
    expect(served.bytesReceived).toBe(sent.bytesSent);
    expect(sent.bytesReceived).toBe(served.bytesSent);
    expect([sent.dials, sent.reconnects, sent.inflight(), sent.sendQueue()]).toEqual([1, 0, 0, 0]);
    // The serving side ends the stream (a restart): the next request redials, one reconnect.
    calls[0]?.end();
    const deadline = Date.now() + 5_000;
    while (link.isOpen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 10));
    await link.request(read('d'), 5_000);
    expect([sent.dials, sent.reconnects, sent.framesSent]).toEqual([2, 1, 2]);
    link.close();
    expect(sent.inflight()).toBe(0);
  });
});
