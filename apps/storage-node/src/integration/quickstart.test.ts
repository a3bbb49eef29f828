import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../test-support/eventually.js';
import { checkHealth } from '../test-support/grpc-probes.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const ringctlBin = join(repoRoot, 'apps/ringctl/bin/ringctl.js');

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** A base port with base, base+1 and base+2 free on 127.0.0.1 (the launcher numbers nodes from it). */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const free = await Promise.all([0, 1, 2].map((i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no three consecutive free ports');
}

function ringctl(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [ringctlBin, ...args], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

describe('the README quick start', () => {
  let launcher: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(() => {
    // The launcher runs in its own process group: kill the whole group, whatever the test did.
    if (launcher?.pid !== undefined) {
      try {
        process.kill(-launcher.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    launcher = undefined;
    dir = undefined;
  });

  it('npm start runs a 3-node cluster that ringctl writes to and reads from, and Ctrl-C stops it', async () => {
    const base = await freeBasePort();
    dir = mkdtempSync(join(tmpdir(), 'ringstore-quickstart-'));
    const output: string[] = [];
    launcher = spawn(
      'npm',
      ['start', '--', '--base-port', String(base), '--data', join(dir, 'data')],
      {
        cwd: repoRoot,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    launcher.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
    launcher.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
    const addresses = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`);
    await eventually(
      async () => {
        if (launcher?.exitCode !== null) throw new Error(`launcher exited: ${output.join('')}`);
        for (const a of addresses)
          if ((await checkHealth(a)) !== 'SERVING') throw new Error(`${a} not serving`);
      },
      60_000,
      250,
    );

    const put = ringctl(['--node', addresses[0]!, 'put', 'greeting', 'hello']);
    expect(put.code, put.stderr).toBe(0);
    const get = ringctl(['--node', addresses[2]!, '--json', 'get', 'greeting']);
    expect(get.code, get.stderr).toBe(0);
    const parsed = JSON.parse(get.stdout) as { siblings: { value: string }[] };
    expect(parsed.siblings.map((s) => s.value)).toEqual(['hello']);

    process.kill(-launcher.pid!, 'SIGINT');
    expect(await exited(launcher, 20_000)).toBe(true);
    for (const a of addresses) expect(await portFree(Number(a.split(':')[1]))).toBe(true);
  }, 90_000);
});
