// ringstore-node as an operator sees it at start: the built program (dist/main.js) in a real
// process. Failures an operator can fix are one line with a code, never a stack; a node that
// starts says where it listens in one line; pretty logs show local times; --exit-with-parent.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '@ringstore/tools';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const nodeMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));
/** Bound on a node's start or exit in these tests (a loaded CI machine, SQLite's open). */
const nodeWaitMs = 20_000;
/** A zone 5 h 45 min east of UTC with no daylight saving time: its local time is never UTC's. */
const zone = { name: 'Asia/Kathmandu', offsetMs: (5 * 60 + 45) * 60_000 };

/** 'pipe': a pipe the test holds (what a launcher gives --exit-with-parent); 'ignore': /dev/null. */
type StdinMode = 'pipe' | 'ignore';

interface Run {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

function startNode(args: readonly string[], stdin: StdinMode = 'ignore'): Run {
  const child = spawn(process.execPath, [nodeMain, ...args], {
    stdio: [stdin, 'pipe', 'pipe'],
    env: { ...process.env, TZ: zone.name, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  const run: Run = {
    child,
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  return run;
}

async function exitCodeOf(run: Run): Promise<number | null> {
  const timeout = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), nodeWaitMs).unref(),
  );
  const code = await Promise.race([run.exited, timeout]);
  if (code === 'timeout') throw new Error(`still running after ${nodeWaitMs} ms:\n${run.output}`);
  return code;
}

/** The output's lines of warnings and worse: the failure report, and nothing else. */
function problemLines(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line !== '' && !/"level":(10|20|30)\b/.test(line) && !/\bINFO\b/.test(line));
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('ringstore-node at start', () => {
  let dir: string;
  let runs: Run[];
  let servers: Server[];

  beforeEach(() => {
    if (!existsSync(nodeMain)) throw new Error(`${nodeMain} is missing: npm run build`);
    dir = mkdtempSync(join(tmpdir(), 'ringstore-main-'));
    runs = [];
    servers = [];
  });
  afterEach(() => {
    for (const run of runs) if (run.child.exitCode === null) run.child.kill('SIGKILL');
    for (const server of servers) server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function node(extra: readonly string[], stdin?: StdinMode): Promise<Run> {
    const [client = 0, peer = 0, admin = 0] = await freePorts(3);
    const args = [
      ...['--id', 'n1', '--data', join(dir, 'n1'), '--nodes', `n1=127.0.0.1:${client}`],
      ...['--listen', `127.0.0.1:${client}`, '--peer-listen', `127.0.0.1:${peer}`],
      ...['--admin-listen', `127.0.0.1:${admin}`, '--log-format', 'json', ...extra],
    ];
    const run = startNode(args, stdin);
    runs.push(run);
    return run;
  }

  it('a client port in use: one line naming the address, the port and EADDRINUSE; exit 1', async () => {
    const [port = 0] = await freePorts(1);
    servers.push(await occupy(port));
    const run = await node(['--listen', `127.0.0.1:${port}`]);
    expect(await exitCodeOf(run)).toBe(1);
    const lines = problemLines(run.output);
    expect(lines, run.output).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as { level: number; code: string; msg: string };
    expect(report).toMatchObject({ level: 60, code: 'EADDRINUSE' });
    expect(report.msg).toBe(
      `cannot listen on 127.0.0.1:${port} (client): address in use (EADDRINUSE)`,
    );
    expect(run.output).not.toMatch(/stack|\n\s+at /);
  }, 30_000);

  it('an admin port in use names the admin listener', async () => {
    const [port = 0] = await freePorts(1);
    servers.push(await occupy(port));
    const run = await node(['--admin-listen', `127.0.0.1:${port}`]);
    expect(await exitCodeOf(run)).toBe(1);
    expect(problemLines(run.output), run.output).toEqual([
      expect.stringContaining(
        `"msg":"cannot listen on 127.0.0.1:${port} (admin): address in use (EADDRINUSE)"`,
      ),
    ]);
  }, 30_000);

  it('a data directory that cannot be made: one line with the path and the code; exit 1', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const run = await node(['--data', join(file, 'n1')]);
    expect(await exitCodeOf(run)).toBe(1);
    expect(problemLines(run.output), run.output).toEqual([
      expect.stringMatching(/"code":"ENOTDIR".*"msg":"cannot mkdir .*a-file\/n1: .*\(ENOTDIR\)"/),
    ]);
  }, 30_000);

  it('TLS files that are missing or not PEM: one line naming the file; exit 2', async () => {
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    for (const [cert, expected] of [
      [join(dir, 'missing.pem'), /certificate .*missing\.pem: ENOENT/],
      [garbage, /certificate .*garbage\.pem is not a PEM certificate/],
    ] as const) {
      const run = await node(['--cert-file', cert, '--key-file', cert]);
      expect(await exitCodeOf(run)).toBe(2);
      expect(problemLines(run.output), run.output).toEqual([expect.stringMatching(expected)]);
    }
  }, 30_000);

  it('logs its addresses in one line, pretty with local times, and stops when its parent goes', async () => {
    // Port 0 for the admin listener: the line shows the port it was given.
    const run = await node(
      ['--log-format', 'pretty', '--exit-with-parent', '--admin-listen', '127.0.0.1:0'],
      'pipe',
    );
    const addresses =
      /^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\] INFO: n1: addresses: client 127\.0\.0\.1:(\d+), peer 127\.0\.0\.1:\d+, admin http:\/\/127\.0\.0\.1:(\d+)\/ /m;
    await expect.poll(() => run.output, { timeout: nodeWaitMs }).toMatch(addresses);
    const [, time = '', , adminPort = '0'] = addresses.exec(run.output) ?? [];
    expect(Number(adminPort)).toBeGreaterThan(0);
    const livez = await fetch(`http://127.0.0.1:${adminPort}/livez`, {
      signal: AbortSignal.timeout(5_000),
    });
    expect(await livez.text()).toBe('ALIVE\n');
    // The time read as UTC is ahead of the true instant by the zone's offset: it is local time.
    const asUtcMs = Date.parse(`${time.replace(' ', 'T')}Z`);
    expect(Math.abs(asUtcMs - zone.offsetMs - Date.now())).toBeLessThan(60_000);

    run.child.stdin?.end();
    expect(await exitCodeOf(run)).toBe(0);
    expect(run.output).toMatch(/WARN: n1: parent process gone \(stdin closed\): stopping/);
    expect(run.output).toMatch(/INFO: n1: stopped/);
  }, 30_000);

  it('opens its storage with the page cache --cache-mb asks for, and says so', async () => {
    const run = await node(['--cache-mb', '8']);
    const opened = /^.*"msg":"storage opened".*$/m;
    await expect.poll(() => run.output, { timeout: nodeWaitMs }).toMatch(opened);
    const line = JSON.parse(opened.exec(run.output)?.[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ journalMode: 'wal', synchronous: 'normal' });
    expect(line['cacheBytes']).toBe(8 * 1024 * 1024);
  }, 30_000);

  it('--exit-with-parent without a pipe on stdin is refused: exit 2', async () => {
    const run = await node(['--exit-with-parent'], 'ignore');
    expect(await exitCodeOf(run)).toBe(2);
    expect(run.output).toMatch(/--exit-with-parent: stdin is not a pipe/);
  }, 30_000);
});
