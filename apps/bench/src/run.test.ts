import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveChildPids } from '@ringstore/tools';
import type { Report } from './report.js';
import { run } from './run.js';
import { startEcho } from './targets/echo.js';

function captureIo(): { io: Parameters<typeof run>[1]; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s), isTTY: false },
    },
    out: () => out,
    err: () => err,
  };
}

const dirs: string[] = [];
function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-bench-test-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ringstore-bench (smoke: the CI variant of npm run bench)', () => {
  it('runs workload A against a local 3-node ringstore cluster, a secured one and the echo server, side by side, and writes JSON and Markdown', async () => {
    const { io, out, err } = captureIo();
    const dir = outDir();
    const code = await run(
      [
        '--compare',
        'ringstore,ringstore-tls,echo',
        '--workload',
        'A',
        '--operations',
        '300',
        '--warmup-seconds',
        '0',
        '--records',
        '200',
        '--concurrency',
        '8',
        '--out',
        dir,
        '--json',
      ],
      io,
    );
    expect(code, err()).toBe(0);
    const report = JSON.parse(out()) as Report;
    expect(
      report.cells.map((c) => [c.target, c.serverCpuUsPerOp === null, c.clientProcesses]),
    ).toEqual([
      ['ringstore', false, 1],
      ['ringstore-tls', false, 1],
      ['echo', false, 1],
    ]);
    for (const c of report.cells) {
      expect(c.clientCpuUsPerOp).toBeGreaterThan(0);
      expect(c.workers).toEqual([]);
    }
    expect(report.cells[1]!.backend).toMatch(
      /^ringstore-tls: 3 local nodes.*TLS on the client port/,
    );
    for (const c of report.cells) {
      expect(c.result.errors).toBe(0);
      expect(c.result.ok).toBe(300);
      expect(c.result.latency.p50Ms).toBeGreaterThan(0);
      expect(c.result.latency.p99Ms).toBeGreaterThanOrEqual(c.result.latency.p50Ms);
      expect(c.result.latency.maxMs).toBeGreaterThanOrEqual(c.result.latency.p99Ms);
      expect(c.result.byOperation.read?.count).toBeGreaterThan(0);
      expect(c.result.byOperation.update?.count).toBeGreaterThan(0);
    }
    expect(report.loads).toEqual([
      expect.objectContaining({ backend: 'ringstore', records: 200 }),
      expect.objectContaining({ backend: 'ringstore-tls', records: 200 }),
      expect.objectContaining({ backend: 'echo', records: 200 }),
    ]);
    expect(report.ratios.map((r) => r.name)).toEqual(['ringstore/echo', 'ringstore-tls/ringstore']);
    expect(report.ratios[0]!.throughput).toBeGreaterThan(0);
    expect(report.ratios[1]!.cpuPerOp).toBeGreaterThan(0);
    const files = readdirSync(dir).sort();
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    const md = readFileSync(
      join(
        dir,
        files.find((f) => f.endsWith('.md'))!,
      ),
      'utf8',
    );
    expect(md).toContain('| ringstore/echo | A | 3 | 200 |');
    expect(err()).toMatch(/seed \d+/);
    // Everything the bench started is stopped.
    expect(liveChildPids()).toEqual([]);
  }, 120_000);

  it('refuses --tls (and ringstore-tls) with --ringstore-address: the secured cluster is its own', async () => {
    for (const flags of [['--tls'], ['--compare', 'ringstore-tls']]) {
      const { io, err } = captureIo();
      expect(
        await run([...flags, '--ringstore-address', '127.0.0.1:7001', '--out', outDir()], io),
      ).toBe(2);
      expect(err()).toContain('not with --ringstore-address');
    }
  });

  it('refuses --no-load for a target the bench would start empty', async () => {
    const { io, err } = captureIo();
    expect(await run(['--no-load', '--target', 'echo', '--out', outDir()], io)).toBe(2);
    expect(err()).toContain('--no-load');
    expect(err()).toContain('echo would start empty');
  });

  it('--no-load measures a given address without loading it first', async () => {
    const echo = await startEcho({
      nodes: 1,
      deadlineMs: 5_000,
      valueBytes: 10,
      workDir: outDir(),
      records: 0,
    });
    try {
      const address = echo.driverSpec('echo');
      const given = address.kind === 'echo' ? address.addresses.join(',') : '';
      const loadsOf = async (extra: string[]): Promise<Report['loads']> => {
        const out = outDir();
        const { io, err } = captureIo();
        const flags = ['--target', 'echo', '--echo-address', given, '--workload', 'c'];
        const timing = ['--operations', '50', '--warmup-seconds', '0', '--records', '40'];
        expect(await run([...flags, ...timing, ...extra, '--out', out], io), err()).toBe(0);
        const json = readdirSync(out).find((f) => f.endsWith('.json'));
        return (JSON.parse(readFileSync(join(out, json!), 'utf8')) as Report).loads;
      };
      expect(await loadsOf([])).toHaveLength(1);
      expect(await loadsOf(['--no-load'])).toEqual([]);
    } finally {
      await echo.stop();
    }
  }, 60_000);

  it('prints one summary line per run without --json, in workload order', async () => {
    const { io, out, err } = captureIo();
    const code = await run(
      [
        '--target',
        'echo',
        '--workload',
        'c,w',
        '--operations',
        '200',
        '--warmup-seconds',
        '0',
        '--records',
        '50',
        '--out',
        outDir(),
      ],
      io,
    );
    expect(code, err()).toBe(0);
    const lines = out().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^echo C zipfian nodes=3 records=50 c=32: \d+ ops\/s, p50 [\d.]+ p99 [\d.]+ p99.9 [\d.]+ max [\d.]+ ms, server CPU \d+ us\/op, client CPU \d+ us\/op, errors 0$/,
    );
    expect(lines[1]).toMatch(/^echo W /);
  }, 60_000);

  it('says how to get etcd when it is missing, and fails', async () => {
    const { io, err } = captureIo();
    const code = await run(
      [
        '--target',
        'etcd',
        '--etcd-bin',
        '/nonexistent/etcd',
        '--operations',
        '10',
        '--out',
        outDir(),
      ],
      io,
    );
    expect(code).toBe(1);
    expect(err()).toMatch(/apt-get install etcd-server/);
  }, 30_000);

  it.each([
    [['--seconds', '0']],
    [['--concurrency', 'lots']],
    [['--workload', 'Z']],
    [['--target', 'telepathy']],
    [['--nodes', '2']],
    [['--records', '-5']],
    [['--ringstore-address', 'nowhere']],
    [['--distribution', 'gaussian']],
    [['--seconds', '5', '--operations', '5']],
  ])('refuses bad flags %j with exit code 2', async (argv) => {
    const { io, err } = captureIo();
    expect(await run(argv, io)).toBe(2);
    expect(err()).not.toBe('');
  });
});

describe('etcd discovery', () => {
  it('finds etcd on PATH before /usr/bin and names the package when it is nowhere', async () => {
    const { findEtcd } = await import('./targets/etcd.js');
    const dir = outDir();
    const { writeFileSync, chmodSync } = await import('node:fs');
    const fake = join(dir, 'etcd');
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o755);
    expect(findEtcd(undefined, dir)).toBe(fake);
    if (!existsSync('/usr/bin/etcd'))
      expect(() => findEtcd(undefined, '/nonexistent')).toThrow(/apt-get install etcd-server/);
    expect(() => findEtcd('/nonexistent/etcd')).toThrow(
      /not executable.*apt-get install etcd-server/,
    );
  });
});
