import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { InsertSequence } from './harness.js';
import {
  splitEvenly,
  startLoadWorkers,
  workerPhases,
  type LoadPhase,
  type LoadWorkers,
} from './load-workers.js';
import type { Report } from './report.js';
import { run } from './run.js';
import { startEcho } from './targets/echo.js';
import type { Backend } from './targets/target.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-bench-workers-'));
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

/** Whether a process of that pid exists (EPERM: it does, someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const phase: LoadPhase = {
  workload: 'A',
  distribution: 'zipfian',
  records: 100,
  valueBytes: 20,
  concurrency: 7,
  stop: { operations: 1_001 },
  seed: 40,
};

describe('--client-procs: flags and how a phase is split', () => {
  it.each([['0'], ['17'], ['two'], ['1.5'], ['-1']])(
    'refuses --client-procs %s with exit code 2 and says why',
    async (value) => {
      const { io, err } = captureIo();
      expect(await run(['--client-procs', value, '--out', tempDir()], io)).toBe(2);
      expect(err()).toContain('--client-procs must be a whole number in 1..16');
    },
    10_000,
  );

  it('splits in-flight requests and an operation count evenly, seeds and insert numbers apart', () => {
    expect(splitEvenly(32, 3)).toEqual([11, 11, 10]);
    const shares = workerPhases(phase, 3, 500);
    expect(shares.map((s) => s.concurrency)).toEqual([3, 2, 2]);
    expect(shares.map((s) => s.stop)).toEqual([
      { operations: 334 },
      { operations: 334 },
      { operations: 333 },
    ]);
    expect(shares.map((s) => s.seed)).toEqual([40, 41, 42]);
    // Every third number from 500, 501 and 502: the workers' inserts never meet.
    const taken = shares.map((s) => {
      const seq = new InsertSequence(s.insertsFrom, s.insertsStep);
      return [seq.take(), seq.take(), seq.take()];
    });
    expect(taken).toEqual([
      [500, 503, 506],
      [501, 504, 507],
      [502, 505, 508],
    ]);
    // More workers than requests in flight: one each; a duration holds for every worker.
    const many = workerPhases({ ...phase, concurrency: 2, stop: { durationMs: 5_000 } }, 4, 0);
    expect(many.map((s) => [s.concurrency, s.stop])).toEqual(
      Array.from({ length: 4 }, () => [1, { durationMs: 5_000 }]),
    );
  }, 10_000);

  it('continues an insert sequence past what a worker took, never going back', () => {
    const seq = new InsertSequence(10);
    seq.passTo(25);
    expect(seq.take()).toBe(25);
    seq.passTo(3);
    expect(seq.take()).toBe(26);
    expect(() => new InsertSequence(0, 0)).toThrow(RangeError);
  }, 10_000);
});

describe('--client-procs against a real echo server', () => {
  it('runs each cell from two worker processes that both do the work, reports client CPU, and leaves no worker behind', async () => {
    const { io, out, err } = captureIo();
    const code = await run(
      [
        '--target',
        'echo',
        '--workload',
        'C,W',
        '--seconds',
        '2',
        '--warmup-seconds',
        '1',
        '--records',
        '100',
        '--concurrency',
        '8',
        '--client-procs',
        '2',
        '--out',
        tempDir(),
        '--json',
      ],
      io,
    );
    expect(code, err()).toBe(0);
    const report = JSON.parse(out()) as Report;
    expect(report.settings['clientProcesses']).toBe(2);
    expect(report.cells.map((c) => c.workload)).toEqual(['C', 'W']);
    const pids = new Set<number>();
    for (const c of report.cells) {
      expect(c.clientProcesses).toBe(2);
      expect(c.workers).toHaveLength(2);
      expect(c.concurrency).toBe(8);
      expect(c.result.errors).toBe(0);
      expect(c.result.operations).toBeGreaterThan(0);
      for (const w of c.workers) {
        expect(w.pid).not.toBe(process.pid);
        expect(w.concurrency).toBe(4);
        expect(w.operations).toBeGreaterThan(0);
        expect(w.cpuUs).toBeGreaterThan(0);
        pids.add(w.pid);
      }
      expect(c.workers[0]!.pid).not.toBe(c.workers[1]!.pid);
      expect(c.workers.reduce((s, w) => s + w.operations, 0)).toBe(c.result.operations);
      expect(c.result.latency.count).toBe(c.result.ok);
      // Two seconds each, started together: the common window is about that.
      expect(c.result.durationMs).toBeGreaterThanOrEqual(2_000);
      expect(c.result.durationMs).toBeLessThan(4_000);
      expect(c.clientCpuUsPerOp).toBeGreaterThan(0);
      expect(c.serverCpuUsPerOp).not.toBeNull();
    }
    // Fresh workers for each cell, all gone once the run is over.
    expect(pids.size).toBe(4);
    for (const pid of pids) expect(alive(pid), `worker pid ${pid}`).toBe(false);
  }, 90_000);

  describe('the workers themselves', () => {
    let backend: Backend | undefined;
    afterAll(async () => {
      await backend?.stop();
    }, 30_000);

    async function echo(): Promise<Backend> {
      backend ??= await startEcho({
        nodes: 1,
        deadlineMs: 5_000,
        valueBytes: 20,
        workDir: tempDir(),
        records: 100,
      });
      return backend;
    }

    it('do exactly an operation count between them, and move the insert numbers on', async () => {
      const target = await echo();
      const workers: LoadWorkers = await startLoadWorkers(2, target.driverSpec('echo'), 1);
      try {
        const from = target.inserts.issued;
        let progress = 0;
        const { result, workers: shares } = await workers.run(
          { ...phase, workload: 'W', stop: { operations: 400 } },
          target.inserts,
          (done) => (progress = done),
        );
        expect(result.ok).toBe(400);
        expect(shares.map((w) => w.operations)).toEqual([200, 200]);
        expect(progress).toBe(400);
        // Worker 0 took from, from+2, ..., from+398; worker 1 from+1, ..., from+399, its next
        // from+401: the sequence continues there (from+400 stays unused: a gap, never a repeat).
        expect(target.inserts.issued).toBe(from + 401);
      } finally {
        await workers.stop();
      }
      for (const pid of workers.pids) expect(alive(pid)).toBe(false);
    }, 60_000);

    it('exit by themselves when the bench process dies without stopping them', async () => {
      // A stand-in bench (built JavaScript) that starts two workers on a two-minute phase (against
      // a closed port: every read fails at once, so they are as busy as can be), prints their
      // pids, and waits; a busy worker stays alive unless the lost channel ends it.
      const dist = (file: string): string => new URL(`../dist/${file}`, import.meta.url).href;
      const script = `
        const { startLoadWorkers } = await import(${JSON.stringify(dist('load-workers.js'))});
        const { InsertSequence } = await import(${JSON.stringify(dist('harness.js'))});
        const spec = { kind: 'echo', addresses: ['127.0.0.1:1'], deadlineMs: 1000, session: false };
        const w = await startLoadWorkers(2, spec, 1);
        const phase = { workload: 'C', distribution: 'uniform', records: 10, valueBytes: 10,
          concurrency: 2, stop: { durationMs: 120000 }, seed: 1 };
        w.run(phase, new InsertSequence(10)).catch(() => undefined);
        process.stdout.write(JSON.stringify(w.pids) + '\\n');
        setInterval(() => undefined, 1000);
      `;
      const bench = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let pids: number[] = [];
      try {
        pids = await new Promise<number[]>((resolve, reject) => {
          let text = '';
          const timer = setTimeout(() => reject(new Error('no worker pids within 30 s')), 30_000);
          bench.stdout.on('data', (b: Buffer) => {
            text += b.toString();
            if (text.includes('\n')) {
              clearTimeout(timer);
              resolve(JSON.parse(text) as number[]);
            }
          });
          bench.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`stand-in bench exited (code ${code})`));
          });
        });
        expect(pids).toHaveLength(2);
        for (const pid of pids) expect(alive(pid)).toBe(true);
        process.kill(bench.pid!, 'SIGKILL');
        const deadline = Date.now() + 10_000;
        while (pids.some(alive) && Date.now() < deadline) await sleep(50);
        for (const pid of pids) expect(alive(pid), `orphaned worker pid ${pid}`).toBe(false);
      } finally {
        if (bench.exitCode === null && bench.signalCode === null) bench.kill('SIGKILL');
        for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
      }
    }, 60_000);

    it('fail the phase when a worker dies, and are all stopped by pid', async () => {
      const target = await echo();
      const workers = await startLoadWorkers(2, target.driverSpec('echo'), 1);
      try {
        const phaseRun = workers.run(
          { ...phase, workload: 'C', stop: { durationMs: 20_000 } },
          target.inserts,
        );
        await sleep(500);
        process.kill(workers.pids[1]!, 'SIGKILL');
        await expect(phaseRun).rejects.toThrow(/exited \(SIGKILL\)/);
      } finally {
        await workers.stop();
      }
      for (const pid of workers.pids) expect(alive(pid)).toBe(false);
    }, 60_000);
  });
});
