// Exit codes and --json errors against a fake node: each gRPC status has the exit code `ringctl
// --help` and docs/operations.md give it, and with --json the error is one JSON document on stdout
// besides the human line on stderr. The same against real nodes: live-node.test.ts.
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitCode } from './errors.js';
import { startFakeNode, type FakeNode } from './test-support/fake-node.js';
import { runCli } from './test-support/run-cli.js';

let node: FakeNode;
beforeEach(async () => {
  node = await startFakeNode();
});
afterEach(async () => {
  await node.stop();
});

const cli = (argv: readonly string[]) => runCli(['--node', node.address, ...argv]);

/** The one JSON document a --json run printed on stdout. */
function jsonOf(stdout: string): Record<string, unknown> {
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

/** A 127.0.0.1 address nothing listens on: a port just bound and released. */
async function unusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `127.0.0.1:${address.port}`;
}

describe('the exit code of each gRPC status', () => {
  const cases: [keyof typeof grpc.status, number][] = [
    ['NOT_FOUND', exitCode.notFound],
    ['UNAVAILABLE', exitCode.unavailable],
    ['DEADLINE_EXCEEDED', exitCode.unavailable],
    ['RESOURCE_EXHAUSTED', exitCode.unavailable],
    ['ABORTED', exitCode.unavailable],
    ['INVALID_ARGUMENT', exitCode.rejected],
    ['FAILED_PRECONDITION', exitCode.rejected],
    ['OUT_OF_RANGE', exitCode.rejected],
    ['ALREADY_EXISTS', exitCode.rejected],
    ['PERMISSION_DENIED', exitCode.denied],
    ['UNAUTHENTICATED', exitCode.denied],
    ['INTERNAL', exitCode.failure],
    ['UNKNOWN', exitCode.failure],
    ['DATA_LOSS', exitCode.failure],
    ['UNIMPLEMENTED', exitCode.failure],
  ];

  it.each(cases)('%s exits %i, and with --json prints the error as JSON', async (name, code) => {
    node.failNext = { code: grpc.status[name], details: `the fake says ${name}` };
    const human = await cli(['ring']);
    expect(human).toEqual({ code, stdout: '', stderr: `${name}: the fake says ${name}\n` });
    node.failNext = { code: grpc.status[name], details: `the fake says ${name}` };
    const json = await cli(['--json', 'ring']);
    expect(json.code).toBe(code);
    expect(json.stderr).toBe(`${name}: the fake says ${name}\n`);
    expect(jsonOf(json.stdout)).toEqual({
      error: {
        code: name,
        message: `the fake says ${name}`,
        exitCode: code,
        grpcCode: grpc.status[name],
      },
    });
  });
});

describe('--json errors', () => {
  it('not found: get and delete of a key with nothing live exit 1 with a NOT_FOUND error', async () => {
    const get = await cli(['--json', 'get', 'absent']);
    expect(get.code).toBe(1);
    expect(get.stderr).toBe('not found\n');
    expect(jsonOf(get.stdout)).toMatchObject({
      key: 'absent',
      found: false,
      error: { code: 'NOT_FOUND', message: 'not found', exitCode: 1 },
    });
    const del = await cli(['delete', 'absent', '--json']);
    expect(del.code).toBe(1);
    expect(jsonOf(del.stdout)).toEqual({
      key: 'absent',
      deleted: false,
      error: { code: 'NOT_FOUND', message: 'not found', exitCode: 1 },
    });
  });

  it('a found key has no error member', async () => {
    expect((await cli(['put', 'k', 'v'])).code).toBe(0);
    const get = await cli(['--json', 'get', 'k']);
    expect(get.code).toBe(0);
    expect(jsonOf(get.stdout)).not.toHaveProperty('error');
  });

  it('unavailable: a node that does not listen exits 3 with UNAVAILABLE, for cluster and data commands', async () => {
    const address = await unusedAddress();
    for (const command of [['members'], ['ae'], ['get', 'k']]) {
      const result = await runCli(['--node', address, '--json', ...command]);
      expect(result.code, command.join(' ')).toBe(exitCode.unavailable);
      expect(result.stderr).toMatch(/^UNAVAILABLE: /);
      const error = jsonOf(result.stdout)['error'] as Record<string, unknown>;
      expect(error).toMatchObject({ code: 'UNAVAILABLE', exitCode: 3, grpcCode: 14 });
      expect(error['message']).toEqual(expect.any(String));
    }
  });

  it.each([
    [
      'an unknown flag (commander)',
      ['--json', 'get', 'k', '--quorum', '2'],
      "unknown option '--quorum'",
    ],
    ['a bad flag value', ['get', 'k', '--r', 'two', '--json'], '--r must be an integer from 1'],
    ['an unknown command', ['--json', 'frobnicate'], "unknown command 'frobnicate'"],
    ['a bad --node', ['--json', 'members', '--node', 'localhost'], '--node must be host:port'],
  ])('usage: %s exits 2 with a USAGE error, and calls no node', async (_name, argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(exitCode.usage);
    expect(result.stderr).toContain(message);
    const error = jsonOf(result.stdout)['error'] as Record<string, unknown>;
    expect(error).toMatchObject({ code: 'USAGE', exitCode: 2 });
    expect(error['message']).toContain(message);
    expect(node.requests).toEqual([]);
  });

  it('without --json errors leave stdout empty', async () => {
    const result = await cli(['get', 'k', '--r', 'two']);
    expect(result).toMatchObject({ code: 2, stdout: '' });
  });

  it('--json after -- is an argument, not the flag', async () => {
    const result = await cli(['get', '--r', 'two', '--', '--json']);
    expect(result).toMatchObject({ code: 2, stdout: '' });
  });

  it('--help documents the exit codes and the JSON error', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const text of [
      'Exit codes:',
      '3  unavailable',
      '4  rejected',
      '5  denied: PERMISSION_DENIED, UNAUTHENTICATED',
      '{"error": {"code": "NOT_FOUND"',
    ])
      expect(result.stdout).toContain(text);
  });
});
