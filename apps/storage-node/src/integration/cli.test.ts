import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/ringstore-node.js');
const dir = mkdtempSync(join(tmpdir(), 'ringstore-cli-'));

function node(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

const valid = [
  '--id',
  'n1',
  '--listen',
  '127.0.0.1:1',
  '--data',
  join(dir, 'n1'),
  '--nodes',
  'n1=127.0.0.1:1',
];

describe('the ringstore-node command line', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every flag with its environment variable on --help and exits 0', () => {
    const res = node(['--help']);
    expect(res.code).toBe(0);
    for (const flag of [
      '--id',
      '--listen',
      '--peer-listen',
      '--data',
      '--nodes',
      '--seeds',
      '--replicas',
      '--partitions',
      '--r',
      '--w',
      '--request-timeout-ms',
      '--log-level',
    ]) {
      expect(res.stdout).toContain(flag);
    }
    expect(res.stdout).toContain('RINGSTORE_REQUEST_TIMEOUT_MS');
  });

  it.each([
    { args: ['--partitions', '300'], message: /--partitions: must be a power of two/ },
    { args: ['--r', '4'], message: /--r: must be at most replicas \(3\)/ },
    { args: ['--partitions', '2'], message: /--partitions: must be at least replicas \(3\)/ },
    { args: ['--replicas', 'three'], message: /--replicas: "three" is not a whole number/ },
    { args: ['--nodes', 'n2=127.0.0.1:2'], message: /--nodes: must include this node \(n1\)/ },
    {
      args: ['--nodes', 'n1=127.0.0.1:1,n2=127.0.0.1:2'],
      message: /--nodes: address 127\.0\.0\.1:2 given twice \(n1 and n2\)/,
    },
    {
      args: ['--peer-listen', '127.0.0.1:1'],
      message: /--peer-listen: must differ from --listen \(127\.0\.0\.1:1\)/,
    },
    { args: ['--log-level', 'chatty'], message: /--log-level/ },
    { args: ['--bogus'], message: /unknown option '--bogus'/ },
  ])('exits 2 with a clear message for $args', ({ args, message }) => {
    const res = node([...valid, ...args]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
  });

  it('validates environment variables like flags', () => {
    const res = node(valid, { RINGSTORE_REQUEST_TIMEOUT_MS: '0' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--request-timeout-ms/);
  });
});
