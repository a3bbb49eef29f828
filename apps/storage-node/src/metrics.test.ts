import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

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
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
