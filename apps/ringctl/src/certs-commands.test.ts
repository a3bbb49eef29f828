// `ringctl certs init|node|client` end to end: the files on disk, the text and --json output,
// and the exit codes of refusals.
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { nodeIdOf } from '@ringstore/certs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCode } from './errors.js';
import { run } from './run.js';

const testTimeoutMs = 15_000;
const dayMs = 86_400_000;

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

let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ringctl-certs-'));
  dir = join(root, 'certs');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function certificate(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path));
}

describe('ringctl certs', { timeout: testTimeoutMs }, () => {
  it('init creates the CA and says what it wrote', async () => {
    const result = await cli(['certs', 'init', '--dir', dir]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(exitCode.ok);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`wrote ${join(dir, 'ca.pem')} (CA certificate)`);
    expect(lines[1]).toBe(
      `wrote ${join(dir, 'ca-key.pem')} (private key, mode 0600; keep it secret, and off the nodes)`,
    );
    expect(lines[2]).toMatch(/^subject: CN=Ringstore cluster CA [0-9a-f]{8}$/);
    expect(lines[3]).toMatch(/^valid until: \d{4}-\d\d-\d\dT/);
    expect(lines[4]).toMatch(/^sha256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await certificate(join(dir, 'ca.pem'))).ca).toBe(true);
  });

  it('init refuses to replace the CA (exit 1) unless --force', async () => {
    const before = await readFile(join(dir, 'ca-key.pem'), 'utf8');
    const refused = await cli(['certs', 'init', '--dir', dir]);
    expect(refused.code).toBe(exitCode.failure);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `error: ${join(dir, 'ca-key.pem')} exists: replacing the CA untrusts every certificate it ` +
        'signed (force: true, or ringctl certs init --force, replaces it)\n',
    );
    expect(await readFile(join(dir, 'ca-key.pem'), 'utf8')).toBe(before);

    const other = join(root, 'forced');
    expect((await cli(['certs', 'init', '--dir', other, '--days', '1'])).code).toBe(exitCode.ok);
    const first = await certificate(join(other, 'ca.pem'));
    const forced = await cli(['certs', 'init', '--dir', other, '--force', '--json']);
    expect(forced.code).toBe(exitCode.ok);
    const second = await certificate(join(other, 'ca.pem'));
    expect(second.fingerprint256).not.toBe(first.fingerprint256);
    expect(JSON.parse(forced.stdout)).toMatchObject({
      kind: 'ca',
      fingerprint256: second.fingerprint256,
    });
  });

  it('node writes ID.pem and ID-key.pem, with --json a document of them', async () => {
    const result = await cli([
      '--json',
      'certs',
      'node',
      '--dir',
      dir,
      '--id',
      'n1',
      '--host',
      'localhost',
      '--host',
      '127.0.0.1',
      '--days',
      '90',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(exitCode.ok);
    expect(result.stdout.endsWith('}\n')).toBe(true);
    const document = JSON.parse(result.stdout) as Record<string, unknown>;
    const cert = await certificate(join(dir, 'n1.pem'));
    expect(document).toEqual({
      kind: 'node',
      certFile: join(dir, 'n1.pem'),
      keyFile: join(dir, 'n1-key.pem'),
      subject: 'CN=n1',
      altNames: ['DNS:localhost', 'IP Address:127.0.0.1', 'URI:urn:ringstore:node:n1'],
      serialNumber: cert.serialNumber,
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
      fingerprint256: cert.fingerprint256,
    });
    expect((new Date(cert.validTo).getTime() - Date.now()) / dayMs).toBeLessThanOrEqual(90);
    expect(cert.checkIssued(await certificate(join(dir, 'ca.pem')))).toBe(true);
    expect(nodeIdOf(cert)).toBe('n1');
    expect((await stat(join(dir, 'n1-key.pem'))).mode & 0o777).toBe(0o600);
  });

  it('client writes NAME.pem and NAME-key.pem', async () => {
    const result = await cli(['certs', 'client', '--dir', dir, '--name', 'ops']);
    expect(result.code).toBe(exitCode.ok);
    expect(result.stdout).toContain(`wrote ${join(dir, 'ops.pem')} (certificate)\n`);
    expect(result.stdout).toContain(`wrote ${join(dir, 'ops-key.pem')} (private key, mode 0600)\n`);
    expect(result.stdout).toContain('names: URI:urn:ringstore:client:ops\n');
    const cert = await certificate(join(dir, 'ops.pem'));
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('refuses bad input with usage errors (exit 2), writing nothing', async () => {
    const cases: [string[], string][] = [
      [['node', '--dir', dir, '--id', 'n 2', '--host', 'x'], 'the node id must be 1-64 letters'],
      [['node', '--dir', dir, '--id', 'ca', '--host', 'x'], "the node id 'ca' is reserved"],
      [['node', '--dir', dir, '--id', 'n2', '--host', 'a b'], "host 'a b' is neither"],
      [['node', '--dir', dir, '--id', 'n2'], "required option '--host <host>' not specified"],
      [['node', '--dir', dir, '--id', 'n2', '--host', 'x', '--days', '0'], '--days must be'],
      [['client', '--dir', dir], "required option '--name <name>' not specified"],
      [['client', '--dir', dir, '--name', 'a/b'], 'the client name must be'],
      [['init'], "required option '--dir <dir>' not specified"],
      [['init', '--dir', join(root, 'x'), '--days', 'ten'], '--days must be an integer'],
    ];
    for (const [argv, message] of cases) {
      const result = await cli(['certs', ...argv]);
      expect(result.code, argv.join(' ')).toBe(exitCode.usage);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
    }
    expect(existsSync(join(dir, 'n2.pem'))).toBe(false);
    expect(existsSync(join(root, 'x'))).toBe(false);
  });

  it('refuses without a CA, or a name another certificate holds (exit 1)', async () => {
    const empty = join(root, 'empty');
    const noCa = await cli(['certs', 'client', '--dir', empty, '--name', 'ops']);
    expect(noCa.code).toBe(exitCode.failure);
    expect(noCa.stderr).toBe(
      `error: ${join(empty, 'ca.pem')} not found: create the CA first ` +
        `(ringctl certs init --dir ${empty})\n`,
    );
    const taken = await cli(['certs', 'client', '--dir', dir, '--name', 'n1']);
    expect(taken.code).toBe(exitCode.failure);
    expect(taken.stderr).toContain('is not a client certificate of n1');
  });

  it('talks to no node: RINGSTORE_NODE and connection flags do not matter', async () => {
    const result = await cli(
      ['certs', 'client', '--dir', dir, '--name', 'ops2', '--ca-file', join(root, 'missing.pem')],
      { RINGSTORE_NODE: 'not an address', RINGSTORE_TOKEN: 'bad token' },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(exitCode.ok);
  });
});
