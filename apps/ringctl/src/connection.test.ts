// The connection flags against a real grpc-js server with TLS from @ringstore/certs: --ca-file,
// --cert-file and --key-file reach the node over TLS (client certificate checked), and --token
// (or RINGSTORE_TOKEN) arrives as `authorization: Bearer ...` on every call, plaintext too.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { clientNameOf, createCa, createClientCert, createNodeCert } from '@ringstore/certs';
import { ClusterService, GetResponse, KVService, Ring } from '@ringstore/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exitCode } from './errors.js';
import { run } from './run.js';

const testTimeoutMs = 15_000;
const token = 'ops-token-0123456789';

interface SeenCall {
  readonly method: string;
  /** Every authorization value the call carried. */
  readonly authorization: string[];
  /** The client certificate's name, when the call came over TLS with one. */
  readonly clientName: string | undefined;
}

interface SecureFake {
  readonly address: string;
  readonly calls: SeenCall[];
  stop(): void;
}

type TlsMode = 'none' | 'server' | 'mutual';

interface Files {
  readonly dir: string;
  readonly ca: string;
  readonly otherCa: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly otherClientCert: string;
  readonly otherClientKey: string;
}

let files: Files;
const fakes: SecureFake[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ringctl-connection-'));
  const cluster = join(dir, 'cluster');
  const other = join(dir, 'other');
  await createCa({ dir: cluster });
  await createNodeCert({ dir: cluster, id: 'n1', hosts: ['localhost', '127.0.0.1'] });
  await createNodeCert({ dir: cluster, id: 'n9', hosts: ['n9.example'] });
  await createClientCert({ dir: cluster, name: 'ops' });
  await createCa({ dir: other });
  await createClientCert({ dir: other, name: 'ops' });
  files = {
    dir,
    ca: join(cluster, 'ca.pem'),
    otherCa: join(other, 'ca.pem'),
    clientCert: join(cluster, 'ops.pem'),
    clientKey: join(cluster, 'ops-key.pem'),
    otherClientCert: join(other, 'ops.pem'),
    otherClientKey: join(other, 'ops-key.pem'),
  };
});

afterEach(() => {
  for (const fake of fakes.splice(0)) fake.stop();
});

afterAll(async () => {
  await rm(files.dir, { recursive: true, force: true });
});

async function serverCredentials(mode: TlsMode, id: string): Promise<grpc.ServerCredentials> {
  if (mode === 'none') return grpc.ServerCredentials.createInsecure();
  const cluster = join(files.dir, 'cluster');
  return grpc.ServerCredentials.createSsl(
    await readFile(join(cluster, 'ca.pem')),
    [
      {
        private_key: await readFile(join(cluster, `${id}-key.pem`)),
        cert_chain: await readFile(join(cluster, `${id}.pem`)),
      },
    ],
    mode === 'mutual',
  );
}

/**
 * A node answering GetRing (a one-node ring of itself, so the SDK routes every key here),
 * ListMembers and Get, recording what each call carried. Other methods: UNIMPLEMENTED. With TLS
 * it serves the certificate of node `id` (n1 names localhost and 127.0.0.1; n9 only n9.example).
 */
async function startSecureFake(mode: TlsMode, id = 'n1'): Promise<SecureFake> {
  const server = new grpc.Server();
  const calls: SeenCall[] = [];
  let address = '';
  const answer =
    (method: string, response: () => unknown): grpc.handleUnaryCall<unknown, unknown> =>
    (call, callback) => {
      calls.push({
        method,
        authorization: call.metadata.get('authorization').map(String),
        clientName: clientNameOf(call.getAuthContext().sslPeerCertificate),
      });
      callback(null, response());
    };
  server.addService(ClusterService, {
    getRing: answer('getRing', () => ringOf(address)),
    listMembers: answer('listMembers', () => ({ members: [] })),
  });
  server.addService(KVService, {
    get: answer('get', () =>
      GetResponse.fromPartial({
        siblings: [{ value: Buffer.from('v1'), deleted: false }],
        context: Buffer.from('c1'),
      }),
    ),
  });
  const port = await new Promise<number>((resolve, reject) => {
    void serverCredentials(mode, id).then((credentials) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) =>
        error === null ? resolve(bound) : reject(error),
      ),
    );
  });
  address = `127.0.0.1:${port}`;
  const fake = { address, calls, stop: () => server.forceShutdown() };
  fakes.push(fake);
  return fake;
}

function ringOf(address: string): Ring {
  const partitionCount = 8;
  return Ring.fromPartial({
    version: 1n,
    term: 1n,
    clusterId: 'secure-fake',
    claimant: 'n1',
    partitionCount,
    replicas: 1,
    nodes: [{ id: 'n1', address, zone: '', status: 'valid' }],
    owners: new Array<number>(partitionCount).fill(0),
  });
}

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(argv: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdin: Readable.from([]),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
  });
  return { code, stdout, stderr };
}

function tlsFlags(overrides: Partial<Record<'ca' | 'cert' | 'key', string>> = {}): string[] {
  return [
    '--ca-file',
    overrides.ca ?? files.ca,
    '--cert-file',
    overrides.cert ?? files.clientCert,
    '--key-file',
    overrides.key ?? files.clientKey,
  ];
}

describe('TLS and the bearer token', { timeout: testTimeoutMs }, () => {
  it('ring over mutual TLS: the node sees the client certificate and the token', async () => {
    const fake = await startSecureFake('mutual');
    const result = await cli(['ring', '--node', fake.address, ...tlsFlags(), '--token', token]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(exitCode.ok);
    expect(fake.calls).toEqual([
      { method: 'getRing', authorization: [`Bearer ${token}`], clientName: 'ops' },
    ]);
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  it('get (the SDK) over mutual TLS with the token from RINGSTORE_TOKEN', async () => {
    const fake = await startSecureFake('mutual');
    const result = await cli(['get', 'k', '--node', fake.address, ...tlsFlags()], {
      RINGSTORE_TOKEN: token,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(exitCode.ok);
    expect(result.stdout).toContain('v1');
    expect(fake.calls.map((call) => call.method)).toEqual(['getRing', 'get']);
    for (const call of fake.calls) {
      expect(call.authorization).toEqual([`Bearer ${token}`]);
      expect(call.clientName).toBe('ops');
    }
  });

  it('--token wins over RINGSTORE_TOKEN', async () => {
    const fake = await startSecureFake('server');
    const result = await cli(
      ['members', '--node', fake.address, '--ca-file', files.ca, '--token', 'flag-token'],
      {
        RINGSTORE_TOKEN: token,
      },
    );
    expect(result.code).toBe(exitCode.ok);
    // members asks for the ring too (each member's place in it), with the same token.
    expect([...fake.calls].sort((a, b) => a.method.localeCompare(b.method))).toEqual([
      { method: 'getRing', authorization: ['Bearer flag-token'], clientName: undefined },
      { method: 'listMembers', authorization: ['Bearer flag-token'], clientName: undefined },
    ]);
  });

  it('sends the token on a plaintext channel too, and nothing without one', async () => {
    const fake = await startSecureFake('none');
    expect((await cli(['ring', '--node', fake.address, '--token', token])).code).toBe(exitCode.ok);
    expect((await cli(['get', 'k', '--node', fake.address], { RINGSTORE_TOKEN: token })).code).toBe(
      exitCode.ok,
    );
    expect((await cli(['ring', '--node', fake.address])).code).toBe(exitCode.ok);
    expect(fake.calls.map((call) => call.authorization)).toEqual([
      [`Bearer ${token}`],
      [`Bearer ${token}`],
      [`Bearer ${token}`],
      [],
    ]);
  });

  it('fails clearly when the node is not signed by --ca-file', async () => {
    const fake = await startSecureFake('mutual');
    const result = await cli(['ring', '--node', fake.address, ...tlsFlags({ ca: files.otherCa })]);
    expect(result.code).toBe(exitCode.unavailable);
    expect(fake.calls).toEqual([]);
    expect(result.stderr).toMatch(/^UNAVAILABLE: .*certificate/);
    expect(result.stderr).toContain(
      `\nhint: the node's certificate is not signed by the CA in --ca-file ${files.otherCa}\n`,
    );
    // The data commands fail the same way, through the SDK.
    const data = await cli([
      'get',
      'k',
      '--node',
      fake.address,
      ...tlsFlags({ ca: files.otherCa }),
    ]);
    expect(data.code).toBe(exitCode.unavailable);
    expect(data.stderr).toContain(`hint: the node's certificate is not signed by the CA`);
  });

  it('fails clearly when the node wants a client certificate and gets none', async () => {
    const fake = await startSecureFake('mutual');
    const result = await cli(['ring', '--node', fake.address, '--ca-file', files.ca]);
    expect(result.code).toBe(exitCode.unavailable);
    expect(result.stderr).toContain(
      'hint: the node requires a client certificate: give --cert-file and --key-file',
    );
    expect(fake.calls).toEqual([]);
  });

  it('fails when the client certificate is from another CA', async () => {
    const fake = await startSecureFake('mutual');
    const result = await cli([
      'ring',
      '--node',
      fake.address,
      ...tlsFlags({ cert: files.otherClientCert, key: files.otherClientKey }),
    ]);
    expect(result.code).toBe(exitCode.unavailable);
    expect(result.stderr).toMatch(/^UNAVAILABLE: /);
    expect(result.stderr).toContain(`--cert-file ${files.otherClientCert}`);
    expect(fake.calls).toEqual([]);
  });

  it('fails clearly between TLS and plaintext', async () => {
    const plaintext = await startSecureFake('none');
    const tlsToPlain = await cli(['ring', '--node', plaintext.address, '--ca-file', files.ca]);
    expect(tlsToPlain.code).toBe(exitCode.unavailable);
    expect(tlsToPlain.stderr).toContain('hint: the node does not speak TLS at that address');
    const secure = await startSecureFake('server');
    const plainToTls = await cli(['ring', '--node', secure.address]);
    expect(plainToTls.code).toBe(exitCode.unavailable);
    expect(plainToTls.stderr).toContain('hint: if the node uses TLS, give --ca-file');
    // With --json the hint is a field of the error.
    const json = await cli(['ring', '--node', secure.address, '--json']);
    expect(json.code).toBe(exitCode.unavailable);
    const error = (JSON.parse(json.stdout) as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({ code: 'UNAVAILABLE', exitCode: exitCode.unavailable });
    expect(error['hint']).toMatch(/^if the node uses TLS, give --ca-file/);
  });

  it('checks the node certificate names the host dialed', async () => {
    const fake = await startSecureFake('server', 'n9');
    const result = await cli(['ring', '--node', fake.address, '--ca-file', files.ca]);
    expect(result.code).toBe(exitCode.unavailable);
    expect(result.stderr).toContain("hint: the node's certificate does not name the host dialed");
    expect(fake.calls).toEqual([]);
  });

  it('dials a node by name as well as by address', async () => {
    const fake = await startSecureFake('server');
    const port = fake.address.split(':')[1] ?? '';
    const result = await cli(['ring', '--node', `localhost:${port}`, '--ca-file', files.ca]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(exitCode.ok);
  });
});

describe('connection flags: usage errors before any call', { timeout: testTimeoutMs }, () => {
  const usage = async (argv: string[], env: Record<string, string> = {}): Promise<string> => {
    const result = await cli(['ring', '--node', '127.0.0.1:1', ...argv], env);
    expect(result.code).toBe(exitCode.usage);
    expect(result.stdout).toBe('');
    return result.stderr;
  };

  it('wants --cert-file and --key-file together, and with --ca-file', async () => {
    expect(await usage(['--ca-file', files.ca, '--cert-file', files.clientCert])).toContain(
      'error: --cert-file and --key-file go together: give both or neither (got only --cert-file)',
    );
    expect(await usage(['--ca-file', files.ca, '--key-file', files.clientKey])).toContain(
      '(got only --key-file)',
    );
    expect(await usage(['--cert-file', files.clientCert, '--key-file', files.clientKey])).toContain(
      'error: --cert-file and --key-file need --ca-file',
    );
  });

  it('names the file it cannot read or use', async () => {
    const missing = join(files.dir, 'missing.pem');
    expect(await usage(['--ca-file', missing])).toContain(
      `error: cannot read --ca-file ${missing}: ENOENT`,
    );
    const notPem = join(files.dir, 'not.pem');
    await writeFile(notPem, 'hello\n');
    expect(await usage(['--ca-file', notPem])).toContain(
      `error: --ca-file ${notPem} is not PEM (no '-----BEGIN' line)`,
    );
    expect(await usage(['--ca-file', files.clientKey])).toContain(
      `error: --ca-file ${files.clientKey} is not a PEM certificate`,
    );
    expect(await usage(tlsFlags({ key: missing }))).toContain(`cannot read --key-file ${missing}`);
    expect(await usage(tlsFlags({ key: files.otherClientKey }))).toContain(
      `error: --key-file ${files.otherClientKey} is not the key of --cert-file ${files.clientCert}`,
    );
    expect(await usage(tlsFlags({ key: files.ca }))).toContain(
      `error: --key-file ${files.ca} is not an unencrypted PEM private key`,
    );
  });

  it('refuses a malformed token without printing it', async () => {
    const secret = 'secret with spaces';
    const stderr = await usage(['--token', secret]);
    expect(stderr).toContain('error: --token must be visible ASCII characters without spaces');
    expect(stderr).not.toContain(secret);
    expect(await usage([], { RINGSTORE_TOKEN: 'Bearer abc' })).toContain(
      "error: RINGSTORE_TOKEN starts with 'Bearer ': give the token alone",
    );
    expect(await usage(['--token', 'x'.repeat(4097)])).toContain(
      '--token must be 1-4096 characters, got 4097',
    );
  });
});
