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
