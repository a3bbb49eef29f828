import { describe, expect, it } from 'vitest';
import { metricSum, processCpuMetric, transferObjectsMetric } from './node-metrics.js';

const text = [
  '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
  '# TYPE process_cpu_seconds_total counter',
  'process_cpu_seconds_total 12.5',
  'process_cpu_seconds_total_extra 99',
  '# HELP ringstore_transfer_objects_total Objects this node received',
  'ringstore_transfer_objects_total{partition="1"} 300',
  'ringstore_transfer_objects_total{partition="2"} 200 1700000000000',
  'ringstore_request_seconds_bucket{le="0.1"} 7',
  '',
].join('\n');

describe('metricSum', () => {
  it('sums every sample of one metric over its label sets, skipping comments and longer names', () => {
    expect(metricSum(text, processCpuMetric)).toBe(12.5);
    expect(metricSum(text, transferObjectsMetric)).toBe(500);
  });

  it('says undefined for a metric with no sample', () => {
    expect(metricSum(text, 'ringstore_ring_version')).toBeUndefined();
    expect(metricSum('', processCpuMetric)).toBeUndefined();
  });
});
