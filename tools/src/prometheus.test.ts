// deploy/prometheus: the alert rules checked by promtool (syntax, and unit tests of the rules in
// alerts.test.yml); every metric name the rules and the Grafana dashboard use checked against what
// a real node exports; and a real Prometheus, run from the example prometheus.yml (its targets
// replaced), scraping a real 3-node cluster, loading the rules and answering every dashboard
// query. Skipped, with the reason printed, where Prometheus is not installed (CI installs the
// Debian package prometheus).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@ringstore/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startCluster, type Cluster } from './cluster.js';
import { freePorts } from './free-port.js';
import { spawnChild, stopChild, type ChildHandle } from './node-process.js';
import { repoRoot } from './pack.js';

const promDir = join(repoRoot, 'deploy/prometheus');
const promtool = '/usr/bin/promtool';
const prometheusBin = '/usr/bin/prometheus';
const missing = [promtool, prometheusBin].filter((p) => !existsSync(p));
const skipReason =
  missing.length === 0
    ? undefined
    : `${missing.join(' and ')} not installed (Debian package prometheus)`;
if (skipReason !== undefined)
  process.stderr.write(`deploy/prometheus tests skipped: ${skipReason}\n`);

/** Bound on one promtool run: it checks a few files. */
const promtoolTimeoutMs = 30_000;
/** Bound on Prometheus finding all three nodes' series (1 s scrapes, start-up included). */
const scrapedTimeoutMs = 60_000;
/** Bound on one HTTP call to Prometheus or a node. */
const httpTimeoutMs = 5_000;
const nodeCount = 3;

function runPromtool(args: readonly string[]): { status: number | null; output: string } {
  const r = spawnSync(promtool, args, {
    cwd: promDir,
    encoding: 'utf8',
    timeout: promtoolTimeoutMs,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface Dashboard {
  panels: { title: string; type: string; targets?: { expr: string }[] }[];
  templating: { list: { name: string; query?: unknown; definition?: string }[] };
}

function dashboard(): Dashboard {
  return JSON.parse(readFileSync(join(promDir, 'grafana-dashboard.json'), 'utf8')) as Dashboard;
}

function dashboardExprs(): string[] {
  return dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string }[] }[];
}

function alertExprs(): string[] {
  const rules = parse(readFileSync(join(promDir, 'alerts.yml'), 'utf8')) as RuleFile;
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

/** PromQL words that are not metric names. */
const promqlKeywords = new Set([
  ...['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool'],
  ...['and', 'or', 'unless', 'inf', 'nan'],
]);

/**
 * The metric names a PromQL expression selects: identifiers outside strings, label matchers,
 * ranges and grouping clauses, that are not functions (followed by a parenthesis) or keywords.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const identifier = /(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*(?!\s*\(|[A-Za-z0-9_:])/g;
  const names = [...bare.matchAll(identifier)].map((m) => m[0]);
  return [...new Set(names.filter((n) => !promqlKeywords.has(n.toLowerCase())))];
}

/** The series names a node's /metrics text declares, histogram and summary parts included. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', type] = m;
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** Series Prometheus itself adds to every target. */
const scrapeSeries = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(httpTimeoutMs) });
  return res.json();
}

async function getText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(httpTimeoutMs) });
  return res.text();
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string> }[] };
}

describe('metricNames', () => {
  it('finds the metric names of an expression, and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, op) (rate(ringstore_request_seconds_bucket{instance=~"$instance"}[$__rate_interval])))',
      ),
    ).toEqual(['ringstore_request_seconds_bucket']);
    expect(
      metricNames(
        'sum by (job) (rate(a_total{status=~"X|Y"}[5m])) / on (job) group_left b_total > 1e-2 and up offset 5m',
      ),
    ).toEqual(['a_total', 'b_total', 'up']);
  });
});

describe.skipIf(skipReason !== undefined)('deploy/prometheus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-prometheus-'));
  let cluster: Cluster | undefined;
  let prometheus: ChildHandle | undefined;
  let promUrl = '';
  const adminAddresses: string[] = [];

  beforeAll(async () => {
    const [promPort, ...adminPorts] = await freePorts(1 + nodeCount);
    for (const port of adminPorts) adminAddresses.push(`127.0.0.1:${port}`);
    cluster = await startCluster({
      nodes: nodeCount,
      dataDir: join(dir, 'data'),
      extraArgs: ['--replicas', '3', '--r', '2', '--w', '2'],
      nodeArgs: (id) => ['--metrics-listen', adminAddresses[Number(id.slice(1)) - 1] ?? ''],
    });
    // Peer link traffic: writes replicate to the other two nodes.
    const client = await connect({ seeds: cluster.nodes.map((n) => n.address) });
    try {
      for (let i = 0; i < 20; i++) await client.put(`prometheus-${i}`, 'v');
    } finally {
      client.close();
    }
    promUrl = `http://127.0.0.1:${promPort}`;
    prometheus = spawnChild({
      command: prometheusBin,
      args: [
        `--config.file=${writePrometheusConfig(dir, adminAddresses)}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      logFile: join(dir, 'prometheus.log'),
      cwd: dir,
      env: { HOME: dir },
      onExit: () => undefined,
    });
  }, 90_000);

  afterAll(async () => {
    try {
      if (prometheus !== undefined) await stopChild(prometheus, 'SIGTERM', 10_000);
      await cluster?.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('promtool checks the rules and passes their unit tests', () => {
    const check = runPromtool(['check', 'rules', 'alerts.yml']);
    expect(check.status, check.output).toBe(0);
    const test = runPromtool(['test', 'rules', 'alerts.test.yml']);
    expect(test.status, test.output).toBe(0);
    expect(test.output).toContain('SUCCESS');
    const config = runPromtool(['check', 'config', 'prometheus.yml']);
    expect(config.status, config.output).toBe(0);
  }, 60_000);

  it('every metric the dashboard and the rules use is one a node exports', async () => {
    const exported = exportedNames(await getText(`http://${adminAddresses[0]}/metrics`));
    const used = [...dashboardExprs(), ...alertExprs()].flatMap(metricNames);
    expect(used.length).toBeGreaterThan(30);
    const unknown = [...new Set(used)].filter((n) => !exported.has(n) && !scrapeSeries.has(n));
    expect(unknown).toEqual([]);
    // The check can fail: a misspelt name is found.
    expect(metricNames('rate(ringstore_request_total[5m])').some((n) => !exported.has(n))).toBe(
      true,
    );
  }, 30_000);

  it('a real Prometheus scrapes all three nodes, loads the rules and answers every dashboard query', async () => {
    const query = async (expr: string): Promise<QueryAnswer> =>
      (await getJson(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(
        (e: unknown) => ({ status: 'unreachable', error: String(e) }),
      )) as QueryAnswer;
    const deadline = Date.now() + scrapedTimeoutMs;
    let instances: string[] = [];
    while (instances.length < nodeCount && Date.now() < deadline) {
      const answer = await query('ringstore_ring_version{job="ringstore"}');
      instances = (answer.data?.result ?? []).map((r) => r.metric['instance'] ?? '');
      if (instances.length < nodeCount) await new Promise((r) => setTimeout(r, 500));
    }
    expect(instances.sort()).toEqual([...adminAddresses].sort());
    // Peer link series for the other members (labelled by ring node id), from the writes.
    const peers = await query('ringstore_peer_messages_total{direction="sent"} > 0');
    expect(new Set(peers.data?.result.map((r) => r.metric['peer']))).toEqual(
      new Set(['n1', 'n2', 'n3']),
    );
    // Every dashboard query runs (Grafana's variables filled in).
    for (const expr of dashboardExprs()) {
      const filled = expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*');
      const answer = await query(filled);
      expect(answer.status, `${filled}: ${answer.error ?? ''}`).toBe('success');
    }
    // The rules are loaded and evaluate without error.
    const rules = (await getJson(`${promUrl}/api/v1/rules`)) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name)).toContain('RingstoreNodeDown');
    expect(loaded.length).toBe(alertExprs().length);
    const evaluated = async (): Promise<boolean> => {
      const now = (await getJson(`${promUrl}/api/v1/rules`)) as typeof rules;
      const all = now.data.groups.flatMap((g) => g.rules);
      const bad = all.filter((r) => r.health === 'err');
      expect(bad, JSON.stringify(bad)).toEqual([]);
      return all.every((r) => r.health === 'ok');
    };
    while (!(await evaluated()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 500));
    expect(await evaluated()).toBe(true);
  }, 90_000);
});

/** The example configuration, scraping the given admin addresses every second. */
function writePrometheusConfig(dir: string, targets: readonly string[]): string {
  const config = parse(readFileSync(join(promDir, 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  config.global['scrape_interval'] = '1s';
  config.global['evaluation_interval'] = '1s';
  config.rule_files = config.rule_files.map((f) => join(promDir, f));
  const job = config.scrape_configs.find((c) => c.job_name === 'ringstore');
  if (job === undefined) throw new Error('prometheus.yml has no ringstore job');
  job.static_configs = [{ targets: [...targets] }];
  for (const c of config.scrape_configs) (c as Record<string, unknown>)['scrape_timeout'] = '1s';
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, stringify(config));
  return file;
}
