import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from './cluster.js';
import { formatBanner, parseLauncherArgs, runLauncher, type LauncherIo } from './launcher.js';
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
      extraArgs: [],
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
      extraArgs: ['--replicas', '3', '--w', '1', '--log-level', 'debug'],
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
    expect(io.out).toMatch(/n1 {2}127\.0\.0\.1:\d+ {2}pid \d+/);
    expect(io.out).toMatch(/npx ringctl --node 127\.0\.0\.1:\d+ put greeting hello/);
    const n1Argv = await readFile(join(dir, 'n1', 'argv.json'), 'utf8');
    expect(n1Argv).toContain('"--r","1"');
    expect(n1Argv).toMatch(/"--listen","127\.0\.0\.1:\d+","--peer-listen","127\.0\.0\.1:\d+"/);

    stop.abort();
    expect(await running).toBe(0);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(io.out).toContain('Stopped.\n');
  });

  it('exits 1 with the failing node log when the cluster cannot start', async () => {
    const io = capture();
    expect(await runLauncher(argv('--', '--fake-crash'), io, new AbortController().signal)).toBe(1);
    expect(io.err).toMatch(/^error: node n\d .* exited with code 1 before serving/);
    expect(io.err).toContain('simulated start-up failure');
    expect(liveChildPids()).toEqual([]);
  });
});

describe('formatBanner', () => {
  it('lists the nodes and commands against them', () => {
    const node = (id: string, port: number): ClusterNode => ({
      id,
      address: `127.0.0.1:${port}`,
      peerAddress: `127.0.0.1:${port + 1}`,
      pid: 100 + port,
      dataDir: `/d/${id}`,
      logFile: `/d/${id}.log`,
      running: true,
    });
    const banner = formatBanner([node('n1', 7001), node('n2', 7003)]);
    expect(banner).toContain(
      'Ringstore: 2 nodes serving\n  n1  127.0.0.1:7001  pid 7101  data /d/n1  log /d/n1.log\n',
    );
    expect(banner).toContain('npx ringctl --node 127.0.0.1:7003 get greeting');
    // Clients are pointed at client ports only, never at a peer port.
    expect(banner).not.toContain('127.0.0.1:7002');
    expect(banner).toContain(
      `grpcurl -plaintext -d '{"key":"Z3JlZXRpbmc="}' 127.0.0.1:7001 ringstore.v1.KV/Get`,
    );
  });
});
