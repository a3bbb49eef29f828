import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from './cluster.js';
import { checkHealth, healthClient } from './health.js';
import {
  formatBanner,
  parseLauncherArgs,
  runLauncher,
  runRestartCommand,
  type LauncherIo,
} from './launcher.js';
import type { LauncherState } from './launcher-control.js';
import { liveChildPids } from './node-process.js';
import { alivePids, fakeNodeBin, isAlive } from './test-support/fake-cluster.js';

interface CapturedIo extends LauncherIo {
  out: string;
  err: string;
}

function capture(): CapturedIo {
  const io: CapturedIo = {
    out: '',
    err: '',
    stdout: { write: (text: string) => (io.out += text) },
    stderr: { write: (text: string) => (io.err += text) },
  };
  return io;
}

describe('parseLauncherArgs', () => {
  it('defaults to 3 nodes on 7001.. with data under ./data', () => {
    expect(parseLauncherArgs([], capture())).toEqual({
      nodes: 3,
      basePort: 7001,
      dataDir: './data',
      logDir: undefined,
      nodeBin: undefined,
      startTimeoutMs: undefined,
      extraArgs: ['--log-format', 'pretty'],
      adminPorts: true,
    });
  });

  it('passes the node flags it knows, then everything after --, to every node', () => {
    const argv = [
      '--nodes',
      '5',
      '--base-port',
      '0',
      '--data',
      '/d',
      '--replicas',
      '3',
      '--w',
      '1',
      '--',
      '--log-level',
      'debug',
    ];
    expect(parseLauncherArgs(argv, capture())).toMatchObject({
      nodes: 5,
      basePort: 0,
      dataDir: '/d',
      extraArgs: ['--log-format', 'pretty', '--replicas', '3', '--w', '1', '--log-level', 'debug'],
    });
  });
});

describe('runLauncher usage', () => {
  const never = new AbortController().signal;
  const cases: [string, string[], string][] = [
    ['zero nodes', ['--nodes', '0'], "--nodes must be an integer from 1 to 64, got '0'"],
    ['bad port', ['--base-port', 'x'], '--base-port must be an integer'],
    ['unknown flag', ['--bogus'], "unknown option '--bogus'"],
  ];

  it.each(cases)('%s exits 2', async (_name, argv, message) => {
    const io = capture();
    expect(await runLauncher(argv, io, never)).toBe(2);
    expect(io.err).toContain(message);
  });

  it('--help exits 0 and describes the flags', async () => {
    const io = capture();
    expect(await runLauncher(['--help'], io, never)).toBe(0);
    expect(io.out).toContain('--base-port');
    expect(io.out).toMatch(/peer\s+port/);
  });
});

describe('runLauncher', () => {
  let dir: string;
  let pids: number[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-launcher-'));
    pids = [];
  });
  afterEach(async () => {
    const alive = await alivePids(pids, 1_000);
    for (const pid of alive) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
    expect(alive).toEqual([]);
  });

  const argv = (...extra: string[]) => [
    '--nodes',
    '2',
    '--base-port',
    '0',
    '--data',
    dir,
    '--node-bin',
    fakeNodeBin,
    ...extra,
  ];

  it('starts the cluster, prints how to use it, and stops every node when asked', async () => {
    const io = capture();
    const stop = new AbortController();
    const running = runLauncher(argv('--r', '1'), io, stop.signal);
    await expect
      .poll(() => io.out, { timeout: 8_000 })
      .toContain('Press Ctrl-C to stop the cluster.');
    pids = liveChildPids();
    expect(pids).toHaveLength(2);
    expect(io.out).toMatch(/n1 {2}client 127\.0\.0\.1:\d+ {2}peer 127\.0\.0\.1:\d+ {2}pid \d+\n/);
    expect(io.out).toMatch(
      / {6}console http:\/\/127\.0\.0\.1:\d+\/ {2}metrics http:\/\/127\.0\.0\.1:\d+\/metrics\n/,
    );
    const state = JSON.parse(await readFile(join(dir, 'launcher.json'), 'utf8')) as LauncherState;
    expect(state.launcherPid).toBe(process.pid);
    expect(state.nodes.map((node) => node.pid).sort()).toEqual([...pids].sort());
    expect(io.out).toMatch(/npx ringctl --node 127\.0\.0\.1:\d+ put greeting hello/);
    const n1Argv = await readFile(join(dir, 'n1', 'argv.json'), 'utf8');
    expect(n1Argv).toContain('"--r","1"');
    expect(n1Argv).toMatch(/"--listen","127\.0\.0\.1:\d+","--peer-listen","127\.0\.0\.1:\d+"/);
    expect(n1Argv).toMatch(/"--admin-listen","127\.0\.0\.1:\d+","--exit-with-parent"/);

    stop.abort();
    expect(await running).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(io.out).toContain('Stopped.\n');
    expect(existsSync(join(dir, 'launcher.json'))).toBe(false);
    expect(existsSync(join(dir, 'launcher.sock'))).toBe(false);
  });

  it('exits 1 with the failing node log when the cluster cannot start', async () => {
    const io = capture();
    expect(await runLauncher(argv('--', '--fake-crash'), io, new AbortController().signal)).toBe(1);
    expect(io.err).toMatch(/^error: node n\d .* exited with code 1 before serving/);
    expect(io.err).toContain('simulated start-up failure');
    expect(liveChildPids()).toEqual([]);
  });

  it('restarts a node when another process asks: new pid, same command line, state updated', async () => {
    const io = capture();
    const stop = new AbortController();
    const running = runLauncher(argv(), io, stop.signal);
    await expect.poll(() => io.out, { timeout: 8_000 }).toContain('Press Ctrl-C');
    const before = await readState(dir);
    const n2 = before.nodes.find((node) => node.id === 'n2')!;
    pids = [...liveChildPids()];

    const command = capture();
    expect(await runRestartCommand(['n2', '--data', dir], command), command.err).toBe(0);
    const after = await readState(dir);
    const restarted = after.nodes.find((node) => node.id === 'n2')!;
    pids.push(restarted.pid);
    expect(restarted.pid).not.toBe(n2.pid);
    expect(isAlive(n2.pid)).toBe(false);
    expect(restarted.argv).toEqual(n2.argv);
    expect(restarted.address).toBe(n2.address);
    expect(command.out).toContain(`Restarted n2 (pid ${n2.pid} -> ${restarted.pid}):\n`);
    expect(command.out).toContain(`  n2  client ${n2.address}  peer ${n2.peerAddress}`);
    expect(io.out).toContain(`Restarting n2 (pid ${n2.pid}) as asked...\n`);
    // The launcher owns the new process like the others: it stops it too.
    expect(liveChildPids()).toContain(restarted.pid);

    const unknown = capture();
    expect(await runRestartCommand(['n9', '--data', dir], unknown)).toBe(1);
    expect(unknown.err).toContain('error: no node n9 in this cluster (nodes: n1, n2)');

    stop.abort();
    expect(await running).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it('refuses a second launcher on the same data directory', async () => {
    const io = capture();
    const stop = new AbortController();
    const running = runLauncher(argv(), io, stop.signal);
    await expect.poll(() => io.out, { timeout: 8_000 }).toContain('Press Ctrl-C');
    pids = liveChildPids();
    const second = capture();
    expect(await runLauncher(argv(), second, new AbortController().signal)).toBe(1);
    expect(second.err).toContain('error: another launcher is running with this data directory');
    expect(liveChildPids().sort()).toEqual([...pids].sort());
    stop.abort();
    expect(await running).toBe(0);
  });
});

describe('runRestartCommand without a running launcher', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-restart-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says so when no launcher ever used the directory', async () => {
    const io = capture();
    expect(await runRestartCommand(['n2', '--data', dir], io)).toBe(1);
    expect(io.err).toContain(`error: no launcher state at ${join(dir, 'launcher.json')}`);
  });

  it('says so when the launcher that wrote the state is gone (killed)', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const state: LauncherState = {
      launcherPid: gone.pid!,
      socketPath: join(dir, 'launcher.sock'),
      restartTimeoutMs: 1_000,
      nodes: [],
    };
    writeFileSync(join(dir, 'launcher.json'), JSON.stringify(state));
    const io = capture();
    expect(await runRestartCommand(['n2', '--data', dir], io)).toBe(1);
    expect(io.err).toContain(`error: the launcher (pid ${gone.pid}) that used ${dir} is gone`);
  });

  it('needs a node', async () => {
    const io = capture();
    expect(await runRestartCommand(['--data', dir], io)).toBe(2);
    expect(io.err).toContain("missing required argument 'node'");
  });
});

async function readState(dir: string): Promise<LauncherState> {
  return JSON.parse(await readFile(join(dir, 'launcher.json'), 'utf8')) as LauncherState;
}

describe('formatBanner', () => {
  it('lists the nodes, their addresses and commands against them', () => {
    const node = (id: string, port: number, admin: number): ClusterNode => ({
      id,
      address: `127.0.0.1:${port}`,
      peerAddress: `127.0.0.1:${port + 1}`,
      adminAddress: `127.0.0.1:${admin}`,
      pid: 100 + port,
      dataDir: `/d/${id}`,
      logFile: `/d/${id}.log`,
      running: true,
    });
    const banner = formatBanner([node('n1', 7001, 7005), node('n2', 7003, 7006)]);
    expect(banner).toContain(
      'Ringstore: 2 nodes serving\n' +
        '  n1  client 127.0.0.1:7001  peer 127.0.0.1:7002  pid 7101\n' +
        '      console http://127.0.0.1:7005/  metrics http://127.0.0.1:7005/metrics\n' +
        '      data /d/n1  log /d/n1.log\n',
    );
    expect(banner).toContain('npx ringctl --node 127.0.0.1:7003 get greeting');
    expect(banner).toContain(
      `grpcurl -plaintext -d '{"key":"Z3JlZXRpbmc="}' 127.0.0.1:7001 ringstore.v1.KV/Get`,
    );
    expect(banner).toContain('  npm run node -- restart n2   (from another terminal)\n');
    expect(formatBanner([node('n1', 7001, 7005)], '/tmp/rs')).toContain(
      '  npm run node -- restart n1 --data /tmp/rs',
    );
  });
});

describe('the launcher with real nodes (a process of its own)', () => {
  const clusterMain = fileURLToPath(new URL('../dist/cluster-main.js', import.meta.url));
  const ringctl = fileURLToPath(new URL('../../apps/ringctl/bin/ringctl.js', import.meta.url));
  /** Bound on the nodes' exit after the launcher's: their graceful stop (5 s) and a margin. */
  const orphanWaitMs = 15_000;
  let dir: string;
  let launcher: ChildProcess | undefined;
  let pids: number[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringstore-launcher-real-'));
    pids = [];
    launcher = undefined;
  });
  afterEach(async () => {
    if (launcher?.exitCode === null && launcher.signalCode === null) launcher.kill('SIGKILL');
    const alive = await alivePids(pids, orphanWaitMs);
    for (const pid of alive) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }, orphanWaitMs + 5_000);

  /** Runs a command to its end (bounded); its exit code and output. */
  function run(
    args: readonly string[],
    timeoutMs: number,
  ): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [...args], { timeout: timeoutMs });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('close', (code) => resolve({ code, out }));
    });
  }

  async function serving(address: string): Promise<string> {
    const client = healthClient(address);
    try {
      return await checkHealth(client, 2_000);
    } finally {
      client.close();
    }
  }

  it('restarts n2 on request, and no node outlives a kill -9 of the launcher', async () => {
    let output = '';
    launcher = spawn(
      process.execPath,
      [clusterMain, '--base-port', '0', '--data', dir, '--', '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    launcher.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    launcher.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await expect.poll(() => output, { timeout: 60_000, interval: 200 }).toContain('Press Ctrl-C');
    const before = await readState(dir);
    pids.push(...before.nodes.map((node) => node.pid));
    const n2 = before.nodes.find((node) => node.id === 'n2')!;

    const restart = await run([clusterMain, 'restart', 'n2', '--data', dir], 60_000);
    expect(restart.code, restart.out).toBe(0);
    const after = await readState(dir);
    const restarted = after.nodes.find((node) => node.id === 'n2')!;
    pids.push(restarted.pid);
    expect(restarted.pid).not.toBe(n2.pid);
    expect(restart.out).toContain(`Restarted n2 (pid ${n2.pid} -> ${restarted.pid}):`);
    expect(restart.out).toContain(`console http://${restarted.adminAddress}/`);
    expect(isAlive(n2.pid)).toBe(false);
    expect(await serving(restarted.address)).toBe('SERVING');
    const put = await run(
      [ringctl, '--node', restarted.address, 'put', 'k', 'after-restart'],
      15_000,
    );
    expect(put.code, put.out).toBe(0);
    const n1 = after.nodes.find((node) => node.id === 'n1')!;
    const get = await run([ringctl, '--node', n1.address, 'get', 'k'], 15_000);
    expect(get.code, get.out).toBe(0);
    expect(get.out).toContain('after-restart');

    launcher.kill('SIGKILL');
    const nodePids = after.nodes.map((node) => node.pid);
    expect(await alivePids(nodePids, orphanWaitMs)).toEqual([]);
  }, 150_000);
});
