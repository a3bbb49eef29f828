import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { openSqliteEngine } from '@ringstore/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { Metrics, type LoopDelayHistogram } from './metrics.js';
import { PeerTraffic, unknownPeer } from './peer/traffic.js';
import { ClientGuard } from './security/guard.js';
import { parseRateLimits } from './security/rate-limit.js';

describe('Metrics, per-request series', () => {
  it('counts requests by op and status, and times them by op, through cached children', async () => {
    const m = new Metrics();
    m.countRequest('put', 'OK');
    m.countRequest('put', 'OK');
    m.countRequest('put', 'UNAVAILABLE');
    m.countRequest('get', 'OK');
    const end = m.timeRequest('put');
    end();
    m.timeRequest('put')();
    const text = await m.text();
    expect(text).toContain('ringstore_requests_total{op="put",status="OK"} 2');
    expect(text).toContain('ringstore_requests_total{op="put",status="UNAVAILABLE"} 1');
    expect(text).toContain('ringstore_requests_total{op="get",status="OK"} 1');
    expect(text).toContain('ringstore_request_seconds_count{op="put"} 2');
    expect(text).toMatch(/ringstore_request_seconds_bucket\{le="1.5",op="put"\} 2/);
  });
});

describe('/healthz', () => {
  it('answers 200 SERVING while the node serves, 503 NOT_SERVING otherwise', async () => {
    let serving = false;
    const server = await new Metrics().serve('127.0.0.1', 0, () => serving);
    try {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const url = `http://127.0.0.1:${address.port}/healthz`;
      const probe = async (): Promise<[number, string]> => {
        const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        return [res.status, await res.text()];
      };
      expect(await probe()).toEqual([503, 'NOT_SERVING\n']);
      serving = true;
      expect(await probe()).toEqual([200, 'SERVING\n']);
      serving = false;
      expect(await probe()).toEqual([503, 'NOT_SERVING\n']);
      // Not serving, yet alive: /livez is what a liveness probe asks.
      const live = await fetch(`http://127.0.0.1:${address.port}/livez`, {
        signal: AbortSignal.timeout(5_000),
      });
      expect([live.status, await live.text()]).toEqual([200, 'ALIVE\n']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** The value of one series line (`name{labels} value`), or undefined when it is absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Metrics, peer links', () => {
  it("reports each ring member's link counters, queue and in-flight requests at scrape", async () => {
    const m = new Metrics();
    const traffic = new PeerTraffic((id) => id === 'n2' || id === 'n3');
    m.trackPeerTraffic(traffic);
    const n2 = traffic.of('n2');
    n2.framesSent += 2;
    n2.messagesSent += 5;
    n2.bytesSent += 1000;
    n2.framesReceived += 1;
    n2.messagesReceived += 5;
    n2.bytesReceived += 700;
    n2.dialled();
    n2.dialled();
    const unwatch = n2.watch({ queued: () => 3, inflight: () => 4 });
    traffic.of('n3').framesReceived++;
    const text = await m.text();
    expect(valueOf(text, 'ringstore_peer_frames_total{peer="n2",direction="sent"}')).toBe(2);
    expect(valueOf(text, 'ringstore_peer_frames_total{peer="n2",direction="received"}')).toBe(1);
    expect(valueOf(text, 'ringstore_peer_messages_total{peer="n2",direction="sent"}')).toBe(5);
    expect(valueOf(text, 'ringstore_peer_bytes_total{peer="n2",direction="received"}')).toBe(700);
    expect(valueOf(text, 'ringstore_peer_reconnects_total{peer="n2"}')).toBe(1);
    expect(valueOf(text, 'ringstore_peer_send_queue{peer="n2"}')).toBe(3);
    expect(valueOf(text, 'ringstore_peer_requests_inflight{peer="n2"}')).toBe(4);
    expect(valueOf(text, 'ringstore_peer_frames_total{peer="n3",direction="received"}')).toBe(1);
    // Counters grow between scrapes; a closed stream's queue is no longer read.
    n2.framesSent++;
    unwatch();
    const later = await m.text();
    expect(valueOf(later, 'ringstore_peer_frames_total{peer="n2",direction="sent"}')).toBe(3);
    expect(valueOf(later, 'ringstore_peer_send_queue{peer="n2"}')).toBe(0);
  });

  it('counts a node the ring does not name under one (unknown) label', async () => {
    const m = new Metrics();
    const traffic = new PeerTraffic((id) => id === 'n2');
    m.trackPeerTraffic(traffic);
    for (let i = 0; i < 100; i++) traffic.of(`forged-${i}`).framesReceived++;
    const text = await m.text();
    expect(text).not.toContain('forged');
    expect(
      valueOf(text, `ringstore_peer_frames_total{peer="${unknownPeer}",direction="received"}`),
    ).toBe(100);
  });
});

describe('Metrics, storage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('times commits, counts their group sizes, and reads the queue, file sizes and free space at scrape', async () => {
    const m = new Metrics();
    const path = join(dir, 'ringstore.db');
    const storage = openSqliteEngine({
      path,
      checkpoints: 'inline',
      onCommit: (writes, durationMs) => m.observeCommit(writes, durationMs),
    });
    try {
      m.trackStorage({ path, dataDir: dir, stats: () => storage.stats() });
      const writes = [1, 2, 3].map((i) =>
        storage.update(1, Buffer.from(`k${i}`), () => Buffer.from('v')),
      );
      expect(valueOf(await m.text(), 'ringstore_storage_commit_queue')).toBe(3);
      await Promise.all(writes);
      const text = await m.text();
      expect(valueOf(text, 'ringstore_storage_commit_queue')).toBe(0);
      expect(valueOf(text, 'ringstore_storage_commit_seconds_count')).toBe(1);
      expect(valueOf(text, 'ringstore_storage_commit_writes_sum')).toBe(3);
      expect(valueOf(text, 'ringstore_storage_commit_writes_bucket{le="1"}')).toBe(0);
      expect(valueOf(text, 'ringstore_storage_commit_writes_bucket{le="4"}')).toBe(1);
      expect(valueOf(text, 'ringstore_storage_database_bytes')).toBeGreaterThan(0);
      expect(valueOf(text, 'ringstore_storage_wal_bytes')).toBeGreaterThan(0);
      const free = valueOf(text, 'ringstore_data_filesystem_free_bytes') ?? 0;
      expect(free).toBeGreaterThan(0);
      expect(valueOf(text, 'ringstore_data_filesystem_size_bytes')).toBeGreaterThanOrEqual(free);
    } finally {
      await storage.close();
    }
  });
});

describe('Metrics, event-loop delay', () => {
  it('reports p50, p99 and the maximum since the last scrape, then starts a new window', async () => {
    const calls: string[] = [];
    const fake: LoopDelayHistogram = {
      percentile: (p) => (p === 50 ? 1e6 : 20e6),
      max: 250e6,
      reset: () => calls.push('reset'),
      disable: () => calls.push('disable'),
    };
    const m = new Metrics();
    m.measureEventLoopDelay(fake);
    const text = await m.text();
    expect(valueOf(text, 'ringstore_event_loop_delay_seconds{quantile="0.5"}')).toBe(0.001);
    expect(valueOf(text, 'ringstore_event_loop_delay_seconds{quantile="0.99"}')).toBe(0.02);
    expect(valueOf(text, 'ringstore_event_loop_delay_seconds{quantile="1"}')).toBe(0.25);
    m.close();
    expect(calls).toEqual(['reset', 'disable']);
  });

  it('sees a real stall of the event loop in the window that held it', async () => {
    const m = new Metrics();
    m.measureEventLoopDelay();
    try {
      await new Promise((resolve) => setTimeout(resolve, 30));
      const until = performance.now() + 80;
      while (performance.now() < until);
      await new Promise((resolve) => setTimeout(resolve, 30));
      const text = await m.text();
      expect(valueOf(text, 'ringstore_event_loop_delay_seconds{quantile="1"}')).toBeGreaterThan(
        0.05,
      );
    } finally {
      m.close();
    }
  });
});

describe('Metrics, the gate and health', () => {
  const log = createLogger({ level: 'silent', nodeId: 'test', pretty: false });

  it('counts rate-limited requests, every refusal reason present from the start', async () => {
    const m = new Metrics();
    const before = await m.text();
    for (const reason of ['deadline', 'rate_limited', 'overloaded'])
      expect(valueOf(before, `ringstore_requests_refused_total{reason="${reason}"}`)).toBe(0);
    const guard = new ClientGuard({
      authTokenFile: '',
      rateLimits: parseRateLimits(['*=1:2']),
      admission: { requestsMax: 1024, bytesMax: 1024 * 1024 },
      log,
      onRefused: (kind) => m.countRefusal(kind),
    });
    const admit = () => guard.admit('/ringstore.v1.KV/Get', new Metadata(), 10, Infinity);
    admit().leave();
    admit().leave();
    expect(admit).toThrow(/rate limit/);
    expect(admit).toThrow(/rate limit/);
    const text = await m.text();
    expect(valueOf(text, 'ringstore_requests_refused_total{reason="rate_limited"}')).toBe(2);
  });

  it('reads the requests in flight, serving and disk-full at scrape', async () => {
    const m = new Metrics();
    let state = { inflight: 7, inflightBytes: 4096, serving: true, diskFull: false };
    m.trackAdmission(() => state);
    m.trackHealth(() => state);
    let text = await m.text();
    expect(valueOf(text, 'ringstore_requests_inflight')).toBe(7);
    expect(valueOf(text, 'ringstore_requests_inflight_bytes')).toBe(4096);
    expect(valueOf(text, 'ringstore_serving')).toBe(1);
    expect(valueOf(text, 'ringstore_storage_disk_full')).toBe(0);
    state = { inflight: 0, inflightBytes: 0, serving: false, diskFull: true };
    text = await m.text();
    expect(valueOf(text, 'ringstore_requests_inflight')).toBe(0);
    expect(valueOf(text, 'ringstore_serving')).toBe(0);
    expect(valueOf(text, 'ringstore_storage_disk_full')).toBe(1);
  });
});
