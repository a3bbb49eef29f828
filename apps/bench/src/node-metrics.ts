// A node's Prometheus metrics (--metrics-listen), scraped over HTTP: what the bench reads of a
// node without a dedicated RPC (objects received in transfers, the process's CPU time).

/** Objects a node received in partition transfers (a page re-sent after a crash counts again). */
export const transferObjectsMetric = 'ringstore_transfer_objects_total';
/** prom-client's default process metric: user plus system CPU seconds of the node process. */
export const processCpuMetric = 'process_cpu_seconds_total';
/** Bound on one scrape: a local node renders its metrics in milliseconds, even when busy. */
export const scrapeTimeoutMs = 2_000;

/**
 * The sum of every sample of `name` (over all label sets) in Prometheus text format; undefined
 * when the metric has no sample. Comment lines and other metrics (`name_bucket`, ...) are skipped.
 */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    const afterLabels = rest.startsWith('{') ? rest.slice(rest.indexOf('}') + 1) : rest;
    const value = Number(afterLabels.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** What the bench reads of one node at one moment. */
export interface NodeSample {
  readonly transferObjects: number;
  readonly cpuSeconds: number;
}

/** Scrapes http://address/metrics; throws on a failed or late answer. */
export async function scrapeNode(address: string): Promise<NodeSample> {
  const response = await fetch(`http://${address}/metrics`, {
    signal: AbortSignal.timeout(scrapeTimeoutMs),
  });
  if (!response.ok) throw new Error(`metrics at ${address}: HTTP ${response.status}`);
  const text = await response.text();
  return {
    transferObjects: metricSum(text, transferObjectsMetric) ?? 0,
    cpuSeconds: metricSum(text, processCpuMetric) ?? 0,
  };
}
