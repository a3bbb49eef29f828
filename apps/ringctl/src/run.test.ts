import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  Applied,
  type BatchGetRequest,
  type DeleteRequest,
  type GetRequest,
  type PutRequest,
} from '@ringstore/proto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  idleRingFields,
  ringOver,
  startFakeNode,
  type FakeNode,
} from './test-support/fake-node.js';
import { run } from './run.js';
import { runCli } from './test-support/run-cli.js';

let node: FakeNode;
let tempDir: string;

beforeAll(async () => {
  tempDir = await mkdtemp(join(tmpdir(), 'ringctl-test-'));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});
beforeEach(async () => {
  node = await startFakeNode();
});
afterEach(async () => {
  await node.stop();
});

/** ringctl against the fake node. */
const cli = (argv: readonly string[], stdin?: string | Buffer) =>
  runCli(['--node', node.address, ...argv], stdin === undefined ? {} : { stdin });
const b64 = (text: string) => Buffer.from(text).toString('base64');
const seed = (
  key: string,
  siblings: { value: string | Buffer; deleted?: boolean }[],
  version = 7,
) =>
  node.store.set(key, {
    siblings: siblings.map((s) => ({ value: Buffer.from(s.value), deleted: s.deleted ?? false })),
    version,
  });
const sink = () => ({ write: () => true });
const lastRequest = <T>() => node.requests.at(-1)!.request as T;
/** The methods a fake node was called with, in order. */
const methods = (fake: FakeNode) => fake.requests.map((r) => r.method);
/** Without the GetRing calls the SDK makes to connect (and to refresh its ring after a failure). */
const dataMethods = (fake: FakeNode) => methods(fake).filter((method) => method !== 'getRing');

/** A 127.0.0.1 address nothing listens on: a port just bound and released. */
async function unusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `127.0.0.1:${address.port}`;
}

describe('put', () => {
  it('writes the value argument with an empty context and the default w, and prints the new context', async () => {
    const result = await cli(['put', 'greeting', 'hello']);
    expect(result).toEqual({ code: 0, stdout: `context: ${b64('v1')}\n`, stderr: '' });
    const request = lastRequest<PutRequest>();
    expect(request.key.toString()).toBe('greeting');
    expect(request.value.toString()).toBe('hello');
    expect(request.context.length).toBe(0);
    expect(request.w).toBe(0);
    expect(request.strictQuorum).toBe(false);
  });

  it('asks for a strict quorum with --strict, on puts and gets alike', async () => {
    expect((await cli(['--strict', 'put', 'k', 'v'])).code).toBe(0);
    expect(lastRequest<PutRequest>().strictQuorum).toBe(true);
    await cli(['--strict', 'get', 'k']);
    expect(lastRequest<{ strictQuorum: boolean }>().strictQuorum).toBe(true);
  });

  it('passes --w and --context through', async () => {
    const result = await cli(['put', 'k', 'v', '--w', '2', '--context', b64('v7')]);
    expect(result.code).toBe(0);
    const request = lastRequest<PutRequest>();
    expect(request.w).toBe(2);
    expect(request.context.toString()).toBe('v7');
  });

  it('reads the value from stdin when neither an argument nor --file is given', async () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const result = await cli(['put', 'bin'], bytes);
    expect(result.code).toBe(0);
    expect(lastRequest<PutRequest>().value.equals(bytes)).toBe(true);
  });

  it('reads the value from --file', async () => {
    const path = join(tempDir, 'value.txt');
    await writeFile(path, 'from a file\n');
    const result = await cli(['put', 'k', '--file', path]);
    expect(result.code).toBe(0);
    expect(lastRequest<PutRequest>().value.toString()).toBe('from a file\n');
  });

  it('reads the value from stdin with --file -', async () => {
    const result = await cli(['put', 'k', '--file', '-'], 'piped');
    expect(result.code).toBe(0);
    expect(lastRequest<PutRequest>().value.toString()).toBe('piped');
  });

  it('decodes a hex value with --value-hex, from the argument or stdin', async () => {
    expect((await cli(['put', 'k', '00ff10', '--value-hex'])).code).toBe(0);
    expect(lastRequest<PutRequest>().value).toEqual(Buffer.from([0x00, 0xff, 0x10]));
    expect((await cli(['put', 'k', '--value-hex'], 'CAFE\n')).code).toBe(0);
    expect(lastRequest<PutRequest>().value).toEqual(Buffer.from([0xca, 0xfe]));
  });

  it('takes the key as hex with --key-hex', async () => {
    expect((await cli(['--key-hex', 'put', '00ff', 'v'])).code).toBe(0);
    expect(lastRequest<PutRequest>().key).toEqual(Buffer.from([0x00, 0xff]));
    const read = await cli(['get', '00ff', '--key-hex']);
    expect(read.code).toBe(0);
    expect(lastRequest<GetRequest>().key).toEqual(Buffer.from([0x00, 0xff]));
  });

  it('exits 2 when the value must come from stdin and there is none', async () => {
    const result = await run(['--node', node.address, 'put', 'k'], {
      stdout: sink(),
      stderr: sink(),
    });
    expect(result).toBe(2);
    expect(node.requests).toEqual([]);
  });

  it('fails with exit 1 when --file cannot be read, without calling the node', async () => {
    const result = await cli(['put', 'k', '--file', join(tempDir, 'missing')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read --file');
    expect(node.requests).toEqual([]);
  });

  it('prints one JSON document with --json', async () => {
    const result = await cli(['put', 'k', 'v', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      key: 'k',
      siblings: [{ value: 'v', valueBase64: b64('v'), deleted: false }],
      context: b64('v1'),
    });
  });

  it('prints the siblings the write left when there is more than one', async () => {
    seed('k', [{ value: 'older' }]);
    const result = await cli(['put', 'k', 'newer']);
    expect(result).toEqual({
      code: 0,
      stdout: ['siblings: 2', '[1] older', '[2] newer', `context: ${b64('v8')}`, ''].join('\n'),
      stderr: '',
    });
  });
});

describe('mget', () => {
  it('reads every key in one BatchGet and prints each as get does, "not found" for a missing one', async () => {
    seed('a', [{ value: 'one' }]);
    seed('b', [{ value: 'two' }, { value: '', deleted: true }], 9);
    const result = await cli(['mget', 'a', 'missing', 'b', '--r', '2']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        '== a',
        'siblings: 1',
        '[1] one',
        `context: ${b64('v7')}`,
        '== missing',
        'not found',
        '== b',
        'siblings: 2',
        '[1] two',
        '[2] (deleted)',
        `context: ${b64('v9')}`,
        '',
      ].join('\n'),
    );
    expect(dataMethods(node)).toEqual(['batchGet']);
    const request = lastRequest<BatchGetRequest>();
    expect(request.items.map((i) => [i.key.toString(), i.r])).toEqual([
      ['a', 2],
      ['missing', 2],
      ['b', 2],
    ]);
  });

  it('prints one JSON document of results with --json', async () => {
    seed('a', [{ value: 'one' }]);
    const result = await cli(['--json', 'mget', 'a', 'missing']);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as { results: { key: string; found: boolean }[] };
    expect(doc.results.map((r) => [r.key, r.found])).toEqual([
      ['a', true],
      ['missing', false],
    ]);
  });

  it('reads key by key from a node without BatchGet, and exits 1 when a key could not be read', async () => {
    seed('a', [{ value: 'one' }]);
    node.failNext = { method: 'batchGet', code: grpc.status.UNIMPLEMENTED, details: 'no batch' };
    let armed = false;
    node.onCall = (method) => {
      if (method !== 'get' || armed) return;
      armed = true;
      node.failNext = {
        method: 'get',
        code: grpc.status.INVALID_ARGUMENT,
        details: 'bad key',
        trailer: { applied: Applied.APPLIED_NONE, acked: 0, needed: 0, tried: 0 },
      };
    };
    const result = await cli(['mget', 'a', 'b']);
    expect(dataMethods(node)).toEqual(['batchGet', 'get', 'get']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      ['== a', 'error: INVALID_ARGUMENT: bad key', '== b', 'not found', ''].join('\n'),
    );
    expect(result.stderr).toBe('1 of 2 keys could not be read\n');
  });
});

describe('get', () => {
  it('prints every sibling, marks deleted ones, shows non-UTF-8 values in base64, and prints the context', async () => {
    seed('k', [
      { value: 'one' },
      { value: '', deleted: true },
      { value: Buffer.from([0xff, 0xfe]) },
    ]);
    const result = await cli(['get', 'k']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'siblings: 3',
        '[1] one',
        '[2] (deleted)',
        '[3] base64://4=',
        `context: ${b64('v7')}`,
        '',
      ].join('\n'),
    );
  });

  it('sends --r and defaults r to 0 (the cluster default)', async () => {
    seed('k', [{ value: 'v' }]);
    await cli(['get', 'k']);
    expect(lastRequest<GetRequest>().r).toBe(0);
    await cli(['get', 'k', '--r', '3']);
    expect(lastRequest<GetRequest>().r).toBe(3);
  });

  it('exits 1 with "not found" on stderr when the key has no live sibling', async () => {
    expect(await cli(['get', 'absent'])).toEqual({ code: 1, stdout: '', stderr: 'not found\n' });
    seed('gone', [{ value: '', deleted: true }]);
    expect(await cli(['get', 'gone'])).toEqual({ code: 1, stdout: '', stderr: 'not found\n' });
  });

  it('prints one JSON document with --json, before or after the command', async () => {
    seed('k', [{ value: 'a' }, { value: '', deleted: true }]);
    for (const argv of [
      ['get', 'k', '--json'],
      ['--json', 'get', 'k'],
    ]) {
      const result = await cli(argv);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        key: 'k',
        found: true,
        siblings: [
          { value: 'a', valueBase64: b64('a'), deleted: false },
          { value: '', valueBase64: '', deleted: true },
        ],
        context: b64('v7'),
      });
    }
  });

  it('still prints the JSON document when not found, and exits 1', async () => {
    const result = await cli(['get', 'absent', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('not found\n');
    expect(JSON.parse(result.stdout)).toMatchObject({ key: 'absent', found: false, siblings: [] });
  });

  it('round-trips with put', async () => {
    await cli(['put', 'k', 'first']);
    const read = await cli(['get', 'k', '--json']);
    const { context } = JSON.parse(read.stdout) as { context: string };
    await cli(['put', 'k', 'second', '--context', context]);
    expect((await cli(['get', 'k'])).stdout).toContain('siblings: 1\n[1] second\n');
  });
});

describe('delete', () => {
  it('without --context reads the key first and deletes what the read saw', async () => {
    seed('k', [{ value: 'v' }]);
    const result = await cli(['delete', 'k']);
    expect(result).toEqual({ code: 0, stdout: 'deleted\n', stderr: '' });
    // One ring fetch to connect, then the read and the delete through the same client.
    expect(methods(node)).toEqual(['getRing', 'get', 'delete']);
    expect(lastRequest<DeleteRequest>().context.toString()).toBe('v7');
    expect((await cli(['get', 'k'])).code).toBe(1);
  });

  it('with --context and --w deletes directly', async () => {
    seed('k', [{ value: 'v' }]);
    const result = await cli(['delete', 'k', '--context', b64('v7'), '--w', '2', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ key: 'k', deleted: true });
    expect(methods(node)).toEqual(['getRing', 'delete']);
    expect(lastRequest<DeleteRequest>().w).toBe(2);
  });

  it('exits 1 with "not found" when there is nothing to delete', async () => {
    expect(await cli(['delete', 'absent'])).toEqual({ code: 1, stdout: '', stderr: 'not found\n' });
    expect(methods(node)).toEqual(['getRing', 'get']);
  });
});

describe('ring and members', () => {
  beforeEach(() => {
    const nodes = [1, 2, 3].map((i) => ({
      id: `n${i}`,
      address: `127.0.0.1:700${i}`,
      peerAddress: `127.0.0.1:710${i}`,
      zone: '',
      status: 'up',
    }));
    node.ring = {
      ...idleRingFields(),
      version: 4n,
      partitionCount: 8,
      replicas: 3,
      nodes,
      owners: [0, 1, 2, 0, 1, 2, 0, 0],
    };
    node.members = nodes.map((n, i) => ({
      node: n,
      alive: i !== 2,
      phi: i === 2 ? 9.5 : 0.25,
      heartbeat: BigInt(100 + i),
      generation: 1n,
      suspected: false,
    }));
  });

  it('ring shows partition count, replicas, nodes and partitions per node', async () => {
    const result = await cli(['ring']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'ring version 4: 8 partitions, 3 replicas, 3 nodes',
        'ID  ADDRESS         ZONE  STATUS  PARTITIONS',
        'n1  127.0.0.1:7001  -     up      4',
        'n2  127.0.0.1:7002  -     up      2',
        'n3  127.0.0.1:7003  -     up      2',
        'first owner of each partition (each line starts at the partition number shown):',
        '0: n1 n2 n3 n1 n2 n3 n1 n1',
        '',
      ].join('\n'),
    );
  });

  it('ring --json', async () => {
    const result = await cli(['ring', '--json']);
    expect(JSON.parse(result.stdout)).toEqual({
      version: '4',
      partitionCount: 8,
      replicas: 3,
      nodes: [
        ...[1, 2, 3].map((i) => ({
          id: `n${i}`,
          address: `127.0.0.1:700${i}`,
          peerAddress: `127.0.0.1:710${i}`,
          zone: '',
          status: 'up',
          partitions: i === 1 ? 4 : 2,
        })),
      ],
      owners: ['n1', 'n2', 'n3', 'n1', 'n2', 'n3', 'n1', 'n1'],
    });
  });

  it('ring lists owners 16 partitions to a line, indexes aligned', async () => {
    node.ring = {
      ...node.ring,
      partitionCount: 20,
      owners: Array.from({ length: 20 }, (_, p) => p % 3),
    };
    const lines = (await cli(['ring'])).stdout.trimEnd().split('\n').slice(-2);
    expect(lines).toEqual([
      ' 0: n1 n2 n3 n1 n2 n3 n1 n2 n3 n1 n2 n3 n1 n2 n3 n1',
      '16: n2 n3 n1 n2',
    ]);
  });

  /** The ring names n3 leaving, and gossip (ListMembers) says 'up' of every member. */
  const leavingN3 = () => {
    node.ring = {
      ...node.ring,
      nodes: node.ring.nodes.map((n) => ({ ...n, status: n.id === 'n3' ? 'leaving' : 'valid' })),
    };
  };

  it('members shows the ring status and the liveness apart, phi readable', async () => {
    leavingN3();
    node.members[1] = { ...node.members[1]!, alive: false, phi: 1.2345, suspected: true };
    // A node sends Number.MAX_VALUE for an infinite phi.
    node.members[2] = { ...node.members[2]!, phi: Number.MAX_VALUE };
    const result = await cli(['members']);
    expect(result).toEqual({
      code: 0,
      stdout: [
        `STATUS: the member's place in the ring; LIVENESS and PHI: as ${node.address} sees it now`,
        'ID  ADDRESS         ZONE  STATUS   LIVENESS          PHI   HEARTBEAT',
        'n1  127.0.0.1:7001  -     valid    up                0.25  100',
        'n2  127.0.0.1:7002  -     valid    down (suspected)  1.23  101',
        'n3  127.0.0.1:7003  -     leaving  down              inf   102',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(methods(node).sort()).toEqual(['getRing', 'listMembers']);
  });

  it('members shows "-" for a member the ring does not name, and caps a huge phi', async () => {
    node.ring = { ...node.ring, nodes: node.ring.nodes.slice(0, 2) };
    node.members[2] = { ...node.members[2]!, phi: 123_456.7 };
    const row = (await cli(['members'])).stdout.split('\n')[4];
    expect(row).toBe('n3  127.0.0.1:7003  -     -       down      >1000  102');
  });

  it('members --json', async () => {
    leavingN3();
    node.members[0] = { ...node.members[0]!, phi: Infinity };
    node.members[2] = { ...node.members[2]!, phi: Number.MAX_VALUE };
    const result = await cli(['--json', 'members']);
    const document = JSON.parse(result.stdout) as { node: string; members: unknown[] };
    expect(document.node).toBe(node.address);
    expect(document.members[0]).toEqual({
      id: 'n1',
      address: '127.0.0.1:7001',
      peerAddress: '127.0.0.1:7101',
      zone: '',
      status: 'valid',
      liveness: 'up',
      alive: true,
      suspected: false,
      phi: 'Infinity',
      heartbeat: '100',
      generation: '1',
    });
    expect(document.members[2]).toMatchObject({
      status: 'leaving',
      liveness: 'down',
      phi: 'Infinity',
    });
    expect(document.members).toHaveLength(3);
  });
});

describe('server errors', () => {
  it('prints the gRPC status name and message and exits 3, without repeating a write that may have landed', async () => {
    node.failNext = {
      code: grpc.status.UNAVAILABLE,
      details: 'acked 1 of W=2',
      method: 'put',
      trailer: { applied: Applied.APPLIED_MAYBE, acked: 1, needed: 2, tried: 2 },
    };
    expect(await cli(['put', 'k', 'v', '--w', '2'])).toEqual({
      code: 3,
      stdout: '',
      stderr: 'UNAVAILABLE: acked 1 of W=2\n',
    });
    expect(dataMethods(node)).toEqual(['put']);
  });

  it('maps other statuses the same way (INVALID_ARGUMENT: exit 4)', async () => {
    node.failNext = {
      code: grpc.status.INVALID_ARGUMENT,
      details: 'r=9 exceeds N=3',
      method: 'get',
      trailer: { applied: Applied.APPLIED_NONE, acked: 0, needed: 0, tried: 0 },
    };
    expect(await cli(['get', 'k', '--r', '9'])).toMatchObject({
      code: 4,
      stderr: 'INVALID_ARGUMENT: r=9 exceeds N=3\n',
    });
    expect(dataMethods(node)).toEqual(['get']);
  });

  it('a write the node refused before writing anything is sent again, and succeeds', async () => {
    const details = 'put acked 0 of W=2 (only 1 replicas available; the write reached no replica)';
    node.failNext = {
      code: grpc.status.UNAVAILABLE,
      details,
      method: 'put',
      trailer: { applied: Applied.APPLIED_NONE, acked: 0, needed: 2, tried: 0 },
    };
    expect(await cli(['put', 'k', 'v'])).toEqual({
      code: 0,
      stdout: `context: ${b64('v1')}\n`,
      stderr: '',
    });
    expect(dataMethods(node)).toEqual(['put', 'put']);
  });

  it('a put that outlasts --deadline-ms fails with DEADLINE_EXCEEDED and is sent once', async () => {
    node.hangNext = 'put';
    const result = await cli(['put', 'k', 'v', '--deadline-ms', '200']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^DEADLINE_EXCEEDED: /);
    const puts = node.requests.filter((r) => r.method === 'put');
    expect(puts).toHaveLength(1);
    expect(puts[0]!.deadlineRemainingMs).toBeLessThanOrEqual(200);
  });

  it('--deadline-ms bounds a whole get: a hung first attempt leaves time for a second', async () => {
    node.hangNext = 'get';
    seed('k', [{ value: 'v' }]);
    const result = await cli(['get', 'k', '--deadline-ms', '1000']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('[1] v\n');
    const gets = node.requests.filter((r) => r.method === 'get');
    expect(gets).toHaveLength(2);
    // The first attempt got half the operation's deadline, the second what was left of it.
    expect(gets[0]!.deadlineRemainingMs).toBeLessThanOrEqual(500);
    expect(gets[1]!.deadlineRemainingMs).toBeLessThanOrEqual(500);
  });

  it('gives every RPC a deadline', async () => {
    node.hangNext = true;
    const result = await cli(['ring', '--deadline-ms', '100']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^DEADLINE_EXCEEDED: /);
  });

  it('reports an unreachable node as UNAVAILABLE', async () => {
    const address = node.address;
    await node.stop();
    const result = await runCli(['--node', address, 'ring']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^UNAVAILABLE: /);
  });

  it('reports a data command whose --node cannot be reached as UNAVAILABLE, naming it', async () => {
    const address = await unusedAddress();
    const result = await runCli(['--node', address, 'get', 'k']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^UNAVAILABLE: no seed returned a ring: /);
    expect(result.stderr).toContain(address);
  });

  it('reports a ring the SDK cannot route with as UNAVAILABLE, without sending the request', async () => {
    node.ring = { ...node.ring, partitionCount: 6, owners: [0, 0, 0, 0, 0, 0] };
    const result = await cli(['put', 'k', 'v']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^UNAVAILABLE: no seed returned a ring: .*power of two/);
    expect(methods(node)).toEqual(['getRing']);
  });
});

describe('routing of get, put and delete', () => {
  let other: FakeNode;
  beforeEach(async () => {
    other = await startFakeNode();
    // n1 is the other fake, n2 (this one, the seed) the first owner of every partition.
    node.ring = ringOver([other.address, node.address], 1);
  });
  afterEach(async () => {
    await other.stop();
  });

  it('zero-hop (the default) sends each request to the first replica of the key', async () => {
    expect((await cli(['put', 'k', 'v'])).code).toBe(0);
    expect((await cli(['--routing', 'zero-hop', 'get', 'k'])).code).toBe(0);
    expect(methods(node)).toEqual(['getRing', 'put', 'getRing', 'get']);
    expect(other.requests).toEqual([]);
  });

  it('--routing any-node is accepted, before or after the command, and goes round-robin from the first node', async () => {
    expect((await cli(['--routing', 'any-node', 'put', 'k', 'v'])).code).toBe(0);
    expect(await cli(['delete', 'k', '--context', b64('v1'), '--routing', 'any-node'])).toEqual({
      code: 0,
      stdout: 'deleted\n',
      stderr: '',
    });
    // The seed only handed out the ring; n1, which the key's preference list does not start with, got both writes.
    expect(methods(node)).toEqual(['getRing', 'getRing']);
    expect(methods(other)).toEqual(['put', 'delete']);
  });
});

describe('failover', () => {
  it('get, put and delete still work when the ring lists a second node that cannot be reached', async () => {
    // n1, first owner of every partition, is down: the SDK tries it first, then n2 (the fake).
    node.ring = ringOver([await unusedAddress(), node.address], 0);
    expect(await cli(['put', 'k', 'v'])).toEqual({
      code: 0,
      stdout: `context: ${b64('v1')}\n`,
      stderr: '',
    });
    const read = await cli(['get', 'k']);
    expect(read).toEqual({
      code: 0,
      stdout: ['siblings: 1', '[1] v', `context: ${b64('v1')}`, ''].join('\n'),
      stderr: '',
    });
    expect(await cli(['delete', 'k'])).toEqual({ code: 0, stdout: 'deleted\n', stderr: '' });
    expect(dataMethods(node)).toEqual(['put', 'get', 'get', 'delete']);
    expect(lastRequest<DeleteRequest>().context.toString()).toBe('v1');
  });
});

describe('node address', () => {
  it('uses RINGSTORE_NODE when --node is absent', async () => {
    const result = await runCli(['ring', '--json'], { env: { RINGSTORE_NODE: node.address } });
    expect(result.code).toBe(0);
    expect(node.requests.map((r) => r.method)).toEqual(['getRing']);
  });

  it('seeds the data commands with RINGSTORE_NODE too', async () => {
    const result = await runCli(['put', 'k', 'v'], { env: { RINGSTORE_NODE: node.address } });
    expect(result.code).toBe(0);
    expect(methods(node)).toEqual(['getRing', 'put']);
  });

  it('prefers --node over RINGSTORE_NODE', async () => {
    const result = await runCli(['--node', node.address, 'ring'], {
      env: { RINGSTORE_NODE: 'nowhere:1' },
    });
    expect(result.code).toBe(0);
  });
});

describe('usage errors exit 2 without calling the node', () => {
  const cases: [string, string[], string][] = [
    ['no command', [], 'Usage'],
    ['unknown command', ['frobnicate'], "unknown command 'frobnicate'"],
    ['unknown flag', ['get', 'k', '--quorum', '2'], "unknown option '--quorum'"],
    ['missing key', ['get'], "missing required argument 'key'"],
    ['extra argument', ['get', 'a', 'b'], 'too many arguments'],
    ['r zero', ['get', 'k', '--r', '0'], '--r must be an integer from 1'],
    [
      'r not a number',
      ['get', 'k', '--r', 'two'],
      "--r must be an integer from 1 to 4294967295, got 'two'",
    ],
    ['w negative', ['put', 'k', 'v', '--w', '-1'], '--w must be an integer'],
    ['w fractional', ['delete', 'k', '--w', '1.5'], '--w must be an integer'],
    [
      'bad base64 context',
      ['put', 'k', 'v', '--context', 'not base64!'],
      '--context must be base64',
    ],
    ['unpadded base64 context', ['delete', 'k', '--context', 'djc'], '--context must be base64'],
    ['zero deadline', ['ring', '--deadline-ms', '0'], '--deadline-ms must be an integer'],
    ['bad node', ['members', '--node', 'localhost'], '--node must be host:port'],
    [
      'bad routing',
      ['get', 'k', '--routing', 'one-hop'],
      "--routing must be zero-hop or any-node, got 'one-hop'",
    ],
    [
      'empty routing',
      ['--routing', '', 'put', 'k', 'v'],
      "--routing must be zero-hop or any-node, got ''",
    ],
    [
      'value and --file',
      ['put', 'k', 'v', '--file', '/etc/hostname'],
      'either as an argument or with --file',
    ],
    ['empty key', ['get', ''], 'the key must not be empty'],
    [
      'odd hex key',
      ['get', 'abc', '--key-hex'],
      "the key must be hex digits, two per byte, got 'abc'",
    ],
    [
      'bad hex value',
      ['put', 'k', 'zz', '--value-hex'],
      'the value (--value-hex) must be hex digits',
    ],
  ];

  it.each(cases)('%s', async (_name, argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stdout === '' || argv.length === 0).toBe(true);
    expect(result.stderr).toContain(message);
    expect(node.requests).toEqual([]);
  });

  it('rejects a malformed RINGSTORE_NODE', async () => {
    const result = await runCli(['ring'], { env: { RINGSTORE_NODE: 'no-port' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('RINGSTORE_NODE must be host:port');
  });

  it('--help exits 0 and lists the commands', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['get', 'put', 'delete', 'ring', 'members', 'ae'])
      expect(result.stdout).toContain(command);
    expect(result.stdout).toContain('--routing <mode>');
    expect(result.stdout).toContain('anti-entropy');
  });
});
