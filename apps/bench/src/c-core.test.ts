// --load-generator c-core: the load worker written against gRPC's C core (apps/bench/py,
// Python grpcio). Its port of the harness's randomness, key choice and histogram buckets is
// checked number for number against the TypeScript; its hand-made protobuf against ts-proto's;
// and it runs real cells against the echo server and a real 3-node cluster. Skipped, with the
// reason printed, where no Python imports grpc (CI installs python3-grpcio).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@ringstore/client';
import { GetResponse, PutRequest } from '@ringstore/proto';
import { startCluster, type Cluster } from '@ringstore/tools';
import { cCoreInstallHint, cCoreWorkerScript, findGrpcPython } from './load-workers.js';
import type { Report } from './report.js';
import { run } from './run.js';
import { bucketFloor } from './stats.js';
import { fnv1a64, keyChooser, recordKey, seededRandom } from './workload.js';

const python = ((): string | undefined => {
  try {
    return findGrpcPython();
  } catch {
    return undefined;
  }
})();
if (python === undefined)
  process.stderr.write(
    `c-core load generator tests skipped: no Python imports grpc; ${cCoreInstallHint}\n`,
  );

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-bench-ccore-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What `expression` (Python, with the worker's module imported as w) evaluates to, as JSON. */
function fromPython(expression: string): unknown {
  const program = `import json, sys; sys.path.insert(0, ${JSON.stringify(dirname(cCoreWorkerScript))}); import load_worker as w; print(json.dumps(${expression}))`;
  const r = spawnSync(python!, ['-c', program], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`python: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('--load-generator: flags', () => {
  it.each([
    [['--target', 'ringstore'], 'not ringstore'],
    [['--compare', 'echo,echo-session'], 'not echo-session'],
    [['--target', 'echo-quorum-session'], 'not echo-quorum-session'],
    [['--target', 'ringstore-unary', '--tls'], 'not --tls'],
    [['--target', 'echo', '--batch', '4'], 'not --batch'],
  ])(
    'refuses c-core with %j, exit code 2, saying why',
    async (flags, why) => {
      const { io, err } = captureIo();
      const code = await run(['--load-generator', 'c-core', ...flags, '--out', tempDir()], io);
      expect(code).toBe(2);
      expect(err()).toContain(why);
    },
    10_000,
  );

  it('refuses a load generator it does not know', async () => {
    const { io, err } = captureIo();
    expect(await run(['--load-generator', 'rust', '--out', tempDir()], io)).toBe(2);
    expect(err()).toContain("'rust' is invalid");
  }, 10_000);
});

describe.skipIf(python === undefined)('the C-core worker (Python grpcio)', () => {
  it('draws the same random numbers, keys and histogram buckets as the TypeScript harness', () => {
    const ts = (n: number, f: () => number): number[] => Array.from({ length: n }, f);
    expect(fromPython('[r() for r in [w.seeded_random(12345)] for _ in range(8)]')).toEqual(
      ts(8, seededRandom(12345)),
    );
    expect(
      fromPython(
        '[c() for c in [w.key_chooser("zipfian", 1000, w.seeded_random(7))] for _ in range(50)]',
      ),
    ).toEqual(ts(50, keyChooser('zipfian', 1000, seededRandom(7))));
    expect(
      fromPython(
        '[c() for c in [w.key_chooser("uniform", 1000, w.seeded_random(8))] for _ in range(50)]',
      ),
    ).toEqual(ts(50, keyChooser('uniform', 1000, seededRandom(8))));
    expect(fromPython('[str(w.fnv1a64(n)) for n in [0, 7, 123456789]]')).toEqual(
      [0, 7, 123456789].map((n) => String(fnv1a64(n))),
    );
    const values = [1, 2047, 2048, 2049, 4097, 123_456_789, 2 ** 40 + 12_345];
    expect(fromPython(`[w.bucket_floor(v) for v in ${JSON.stringify(values)}]`)).toEqual(
      values.map(bucketFloor),
    );
    expect(fromPython('w.record_key(42).decode()')).toBe(recordKey(42).toString());
  }, 60_000);

  it("encodes requests as ts-proto does and reads the context out of ts-proto's answers", () => {
    const key = Buffer.from('user7');
    const value = Buffer.alloc(300, 0x62);
    const context = Buffer.from([1, 2, 3, 250]);
    const put = Buffer.from(
      PutRequest.encode({ key, value, context, w: 0, strictQuorum: false }).finish(),
    );
    const hex = (b: Buffer): string => JSON.stringify(b.toString('hex'));
    expect(
      fromPython(
        `(w.field_bytes(1, bytes.fromhex(${hex(key)})) + w.field_bytes(2, bytes.fromhex(${hex(value)})) + w.field_bytes(3, bytes.fromhex(${hex(context)}))).hex()`,
      ),
    ).toBe(put.toString('hex'));
    const got = Buffer.from(
      GetResponse.encode({
        siblings: [
          { value: Buffer.alloc(200, 1), deleted: true },
          { value: Buffer.from('x'), deleted: false },
        ],
        context,
      }).finish(),
    );
    expect(fromPython(`w.length_field(bytes.fromhex(${hex(got)}), 2).hex()`)).toBe(
      context.toString('hex'),
    );
    expect(fromPython(`w.length_field(bytes.fromhex(${hex(got)}), 9).hex()`)).toBe('');
  }, 60_000);

  it('runs cells against the echo server from two Python processes, which are gone afterwards', async () => {
    const { io, out, err } = captureIo();
    const code = await run(
      [
        '--target',
        'echo',
        '--load-generator',
        'c-core',
        '--client-procs',
        '2',
        '--workload',
        'C,U',
        '--seconds',
        '2',
        '--warmup-seconds',
        '0',
        '--records',
        '100',
        '--concurrency',
        '8',
        '--out',
        tempDir(),
        '--json',
      ],
      io,
    );
    expect(code, err()).toBe(0);
    const report = JSON.parse(out()) as Report;
    expect(report.settings['loadGenerator']).toBe('c-core');
    expect(report.cells.map((c) => c.workload)).toEqual(['C', 'U']);
    const pids = new Set<number>();
    for (const c of report.cells) {
      expect(c.loadGenerator).toBe('c-core');
      expect(c.workers).toHaveLength(2);
      expect(c.result.errors).toBe(0);
      expect(c.result.ok).toBeGreaterThan(0);
      expect(c.result.latency.count).toBe(c.result.ok);
      expect(c.clientCpuUsPerOp).toBeGreaterThan(0);
      for (const w of c.workers) {
        expect(w.operations).toBeGreaterThan(0);
        pids.add(w.pid);
      }
      expect(c.result.durationMs).toBeGreaterThanOrEqual(2_000);
      expect(c.result.durationMs).toBeLessThan(4_000);
    }
    expect(Object.keys(report.cells[0]!.result.byOperation)).toEqual(['read']);
    expect(Object.keys(report.cells[1]!.result.byOperation)).toEqual(['update']);
    expect(pids.size).toBe(4);
    for (const pid of pids) expect(alive(pid), `worker pid ${pid}`).toBe(false);
  }, 90_000);

  describe('against a real 3-node cluster', () => {
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await startCluster({
        nodes: 3,
        basePort: 0,
        dataDir: tempDir(),
        extraArgs: ['--log-level', 'warn'],
      });
    }, 60_000);
    afterAll(async () => {
      await cluster?.stop();
    }, 30_000);

    it('sends each update with the context of the last answer for its key, so updates supersede instead of piling up siblings', async () => {
      const addresses = cluster.nodes.map((n) => n.address);
      const { io, out, err } = captureIo();
      const code = await run(
        [
          '--target',
          'ringstore-unary',
          '--ringstore-address',
          addresses.join(','),
          '--load-generator',
          'c-core',
          '--workload',
          'U',
          '--distribution',
          'uniform',
          '--records',
          '5',
          '--concurrency',
          '1',
          '--operations',
          '200',
          '--warmup-seconds',
          '0',
          '--out',
          tempDir(),
          '--json',
        ],
        io,
      );
      expect(code, err()).toBe(0);
      const [cell] = (JSON.parse(out()) as Report).cells;
      expect(cell?.result.ok).toBe(200);
      // The worker's first update of a key goes without a context (a sibling of the loaded
      // value); its next carries the answer's context, which covers both: one value is left.
      const client = await connect({ seeds: addresses });
      try {
        for (let i = 0; i < 5; i++) {
          const got = await client.get(recordKey(i), { r: 3 });
          expect(got.siblings, `record ${i}`).toHaveLength(1);
        }
      } finally {
        client.close();
      }
    }, 120_000);
  });
});
