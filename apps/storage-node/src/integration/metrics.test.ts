import { request } from 'node:http';
import { freePort } from '@ringstore/tools';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { eventually } from '../test-support/eventually.js';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('Prometheus metrics', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it('serves request, hint and repair counters at /metrics', async () => {
    const port = await freePort();
    tc = await startTestCluster(1, [
      '--replicas',
      '1',
      '--r',
      '1',
      '--w',
      '1',
      '--metrics-listen',
      `127.0.0.1:${port}`,
    ]);
    await tc.client('n1').put('counted', 'v');
    await tc.client('n1').get('counted');
    const res = await get(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/ringstore_requests_total\{op="put",status="OK"\} 1/);
    expect(res.body).toMatch(/ringstore_requests_total\{op="get",status="OK"\} 1/);
    for (const name of [
      'ringstore_hints_stored_total',
      'ringstore_hints_delivered_total',
      'ringstore_hints_dropped_total',
      'ringstore_hints_pending',
      'ringstore_read_repairs_total',
      'ringstore_request_seconds',
      'ringstore_transfer_objects_total',
      'ringstore_transfer_bytes_total',
      'ringstore_transfers_active',
      'ringstore_transfers_stalled',
      'ringstore_peer_frames_total',
      'ringstore_peer_messages_total',
      'ringstore_peer_bytes_total',
      'ringstore_peer_reconnects_total',
      'ringstore_peer_send_queue',
      'ringstore_peer_requests_inflight',
      'ringstore_storage_commit_seconds',
      'ringstore_storage_commit_writes',
      'ringstore_storage_corrupt_rows_total',
      'ringstore_ae_differences_total',
    ]) {
      expect(res.body).toContain(`# TYPE ${name}`);
    }
    // A brand-new cluster: ring version 1 of term 1, nothing moving.
    expect(res.body).toMatch(/^ringstore_ring_version 1$/m);
    expect(res.body).toMatch(/^ringstore_ring_term 1$/m);
    expect(res.body).toMatch(/^ringstore_transfers_active 0$/m);
    // The checkpoint worker is up, and the event loop's delay is measured.
    expect(res.body).toMatch(/^ringstore_wal_checkpoint_worker_down 0$/m);
    expect(res.body).toMatch(/^ringstore_wal_checkpoints\{kind="failed"\} 0$/m);
    expect(res.body).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(res.body).toMatch(/^ringstore_event_loop_delay_seconds\{quantile="0.99"\} \d/m);
    // The put was committed and timed; storage files, free space and the gate read at scrape.
    expect(res.body).toMatch(/^ringstore_storage_commit_seconds_count [1-9]/m);
    expect(res.body).toMatch(/^ringstore_storage_commit_queue 0$/m);
    expect(res.body).toMatch(/^ringstore_storage_database_bytes [1-9]/m);
    expect(res.body).toMatch(/^ringstore_data_filesystem_free_bytes [1-9]/m);
    expect(res.body).toMatch(/^ringstore_requests_inflight 0$/m);
    expect(res.body).toMatch(/^ringstore_requests_refused_total\{reason="rate_limited"\} 0$/m);
    expect(res.body).toMatch(/^ringstore_storage_disk_full 0$/m);
    expect(res.body).toMatch(/^ringstore_serving 1$/m);
    // The put is checkpointed into the database file by the worker, within a few intervals.
    await eventually(async () => {
      const body = (await get(`http://127.0.0.1:${port}/metrics`)).body;
      expect(body).toMatch(/^ringstore_wal_checkpoints\{kind="passive"\} [1-9]/m);
    }, 10_000);
    expect((await get(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    // A started node is SERVING on /healthz, as on gRPC health.
    expect(await get(`http://127.0.0.1:${port}/healthz`)).toEqual({
      status: 200,
      body: 'SERVING\n',
    });
  }, 60_000);
});
