import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

// Client ports two apart: each node's default peer port (client + 1) is free of the others'.
const base = ['--id', 'n1', '--data', '/tmp/x', '--nodes', 'n1=127.0.0.1:7001,n2=127.0.0.1:7003'];
const dir = mkdtempSync(join(tmpdir(), 'ringstore-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('takes --admin-listen, and its old name --metrics-listen as flag, environment and file key', () => {
    expect(loadConfig([...base, '--admin-listen', '127.0.0.1:9100'], {}).adminListen).toBe(
      '127.0.0.1:9100',
    );
    expect(loadConfig([...base, '--metrics-listen', '127.0.0.1:9101'], {}).adminListen).toBe(
      '127.0.0.1:9101',
    );
    expect(loadConfig(base, { RINGSTORE_METRICS_LISTEN: '127.0.0.1:9102' }).adminListen).toBe(
      '127.0.0.1:9102',
    );
    const file = join(dir, 'old-name.json');
    writeFileSync(file, JSON.stringify({ metricsListen: '127.0.0.1:9103' }));
    expect(loadConfig([...base, '--config', file], {}).adminListen).toBe('127.0.0.1:9103');
    // The new name wins over the old one.
    expect(
      loadConfig(
        [...base, '--admin-listen', '127.0.0.1:9104', '--metrics-listen', '127.0.0.1:9105'],
        {},
      ).adminListen,
    ).toBe('127.0.0.1:9104');
    expect(loadConfig(base, {}).adminListen).toBe('');
  });

  it('applies defaults from DESIGN.md', () => {
    const c = loadConfig(base, {});
    expect(c).toMatchObject({
      replicas: 3,
      partitions: 256,
      r: 2,
      w: 2,
      requestTimeoutMs: 1000,
      keyBytesMax: 1024,
      valueBytesMax: 1048576,
      cacheMb: 64,
      listen: '127.0.0.1:7001',
      peerListen: '127.0.0.1:7002',
    });
    expect(c.nodes).toEqual([
      { id: 'n1', address: '127.0.0.1:7001', peerAddress: '127.0.0.1:7002' },
      { id: 'n2', address: '127.0.0.1:7003', peerAddress: '127.0.0.1:7004' },
    ]);
  });

  it('listens for peers on --peer-listen, by default the --listen port + 1', () => {
    expect(loadConfig([...base, '--listen', '127.0.0.1:9000'], {}).peerListen).toBe(
      '127.0.0.1:9001',
    );
    const given = ['--listen', '127.0.0.1:9000', '--peer-listen', '127.0.0.1:9500'];
    expect(loadConfig([...base, ...given], {})).toMatchObject({
      listen: '127.0.0.1:9000',
      peerListen: '127.0.0.1:9500',
    });
    expect(loadConfig(base, { RINGSTORE_PEER_LISTEN: '127.0.0.1:9600' }).peerListen).toBe(
      '127.0.0.1:9600',
    );
  });

  it('refuses a --peer-listen equal to --listen, or not host:port', () => {
    expect(
      errorOf([...base, '--listen', '127.0.0.1:9000', '--peer-listen', '127.0.0.1:9000']),
    ).toBe(
      '--peer-listen: must differ from --listen (127.0.0.1:9000): the peer port is its own port',
    );
    expect(errorOf([...base, '--peer-listen', '127.0.0.1:7001'])).toContain(
      '--peer-listen: must differ from --listen',
    );
    expect(errorOf([...base, '--peer-listen', 'localhost'])).toContain('--peer-listen');
  });

  it('takes each --nodes member as ID=CLIENT_ADDR/PEER_ADDR, the peer part optional', () => {
    const nodes =
      'n1=127.0.0.1:7001/127.0.0.1:8001, n2=127.0.0.1:7002/127.0.0.1:8002,n3=127.0.0.1:7100';
    expect(loadConfig(['--id', 'n1', '--data', 'd', '--nodes', nodes], {}).nodes).toEqual([
      { id: 'n1', address: '127.0.0.1:7001', peerAddress: '127.0.0.1:8001' },
      { id: 'n2', address: '127.0.0.1:7002', peerAddress: '127.0.0.1:8002' },
      { id: 'n3', address: '127.0.0.1:7100', peerAddress: '127.0.0.1:7101' },
    ]);
  });

  it.each([
    // n1's default peer port (7002) is n2's client port.
    ['n1=127.0.0.1:7001,n2=127.0.0.1:7002', 'address 127.0.0.1:7002 given twice (n1 and n2)'],
    // n2's peer port is n1's client port.
    [
      'n1=127.0.0.1:7001,n2=127.0.0.1:7005/127.0.0.1:7001',
      'address 127.0.0.1:7001 given twice (n1 and n2)',
    ],
    // Two peer ports alike.
    [
      'n1=127.0.0.1:7001/127.0.0.1:8000,n2=127.0.0.1:7005/127.0.0.1:8000',
      'address 127.0.0.1:8000 given twice (n1 and n2)',
    ],
    // One node's peer port is its own client port.
    ['n1=127.0.0.1:7001/127.0.0.1:7001', 'address 127.0.0.1:7001 given twice (n1 and n1)'],
  ])('refuses --nodes %s whose addresses collide', (nodes, expected) => {
    expect(errorOf(['--id', 'n1', '--data', 'd', '--nodes', nodes])).toBe(`--nodes: ${expected}`);
  });

  it('refuses a --nodes member whose peer part is not host:port, or with two', () => {
    expect(errorOf(['--id', 'n1', '--data', 'd', '--nodes', 'n1=127.0.0.1:7001/nope'])).toContain(
      '--nodes',
    );
    const two = 'n1=127.0.0.1:7001/127.0.0.1:8001/127.0.0.1:9001';
    expect(errorOf(['--id', 'n1', '--data', 'd', '--nodes', two])).toBe(
      `--nodes: "${two}" is not ID=CLIENT_ADDR[/PEER_ADDR]`,
    );
  });

  it('takes RINGSTORE_* environment variables, and flags win over them', () => {
    const env = { RINGSTORE_REPLICAS: '2', RINGSTORE_W: '1', RINGSTORE_REQUEST_TIMEOUT_MS: '250' };
    expect(loadConfig(base, env)).toMatchObject({ replicas: 2, w: 1, requestTimeoutMs: 250 });
    expect(loadConfig([...base, '--w', '2'], env).w).toBe(2);
  });

  it('reads a JSON config file, below flags and environment', () => {
    const file = join(dir, 'node.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'n2',
        data: '/tmp/y',
        nodes: 'n2=127.0.0.1:9000/127.0.0.1:9100',
        peerListen: '127.0.0.1:9100',
        partitions: 64,
        logLevel: 'warn',
      }),
    );
    expect(loadConfig(['--config', file], {})).toMatchObject({
      id: 'n2',
      partitions: 64,
      logLevel: 'warn',
      nodes: [{ id: 'n2', address: '127.0.0.1:9000', peerAddress: '127.0.0.1:9100' }],
      peerListen: '127.0.0.1:9100',
    });
    expect(loadConfig(['--config', file, '--partitions', '128'], {}).partitions).toBe(128);
  });

  it.each([
    [['--id', 'n1', '--data', 'd'], '--nodes'],
    [[...base, '--partitions', '100'], '--partitions: must be a power of two'],
    [[...base, '--replicas', '0'], '--replicas'],
    [[...base, '--w', '4'], '--w: must be at most replicas (3)'],
    [[...base, '--r', 'two'], '--r: "two" is not a whole number'],
    [[...base, '--listen', 'localhost'], '--listen: must be host:port'],
    [['--id', 'n3', '--data', 'd', '--nodes', 'n1=127.0.0.1:1'], 'must include this node (n3)'],
    [
      ['--id', 'n1', '--data', 'd', '--nodes', 'n1=127.0.0.1:1,n1=127.0.0.1:3'],
      'node n1 named twice',
    ],
    [['--id', 'n1', '--data', 'd', '--nodes', 'n1'], 'is not ID=CLIENT_ADDR[/PEER_ADDR]'],
    [[...base, '--log-level', 'loud'], '--log-level'],
    [[...base, '--bogus', '1'], "unknown option '--bogus'"],
    [[...base, '--value-bytes-max', String(8 * 1024 * 1024)], '--value-bytes-max'],
    [[...base, '--cache-mb', '0'], '--cache-mb'],
    [[...base, '--cache-mb', String(32 * 1024)], '--cache-mb'],
  ])('rejects %j with a message naming the problem', (argv, expected) => {
    expect(errorOf(argv)).toContain(expected);
  });

  it('defaults the membership settings', () => {
    expect(loadConfig(base, {})).toMatchObject({
      seeds: [],
      transferConcurrency: 2,
      transferRate: 0,
      transferBytesRate: 0,
      transferStallMs: 600_000,
      unsafeSkipCatchUp: false,
    });
  });

  it('takes --seeds (peer addresses) instead of --nodes: a node to be joined, which need not list itself', () => {
    const joiner = ['--id', 'n4', '--data', 'd', '--seeds', ' 127.0.0.1:7001, 127.0.0.1:7002,'];
    const c = loadConfig(joiner, {});
    expect(c.seeds).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    expect(c.nodes).toEqual([]);
    expect(loadConfig(['--id', 'n4', '--data', 'd'], { RINGSTORE_SEEDS: 'h:1' }).seeds).toEqual([
      'h:1',
    ]);
    expect(errorOf(['--id', 'n4', '--data', 'd', '--seeds', 'localhost'])).toContain(
      '--seeds: must be host:port',
    );
  });

  it('refuses --nodes and --seeds together, and neither', () => {
    expect(errorOf([...base, '--seeds', '127.0.0.1:7009'])).toBe(
      '--seeds: give --nodes (a new cluster) or --seeds (join an existing one), not both',
    );
    expect(errorOf(['--id', 'n1', '--data', 'd'])).toBe(
      '--nodes: give --nodes (a new cluster) or --seeds (join an existing one)',
    );
  });

  it('bounds --transfer-concurrency to 1..64', () => {
    for (const n of [1, 64])
      expect(
        loadConfig([...base, '--transfer-concurrency', String(n)], {}).transferConcurrency,
      ).toBe(n);
    for (const n of ['0', '65', '-1'])
      expect(errorOf([...base, '--transfer-concurrency', n])).toContain('--transfer-concurrency');
  });

  it('rejects unknown config-file keys and unreadable files', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ id: 'n1', colour: 'blue' }));
    expect(errorOf(['--config', file])).toContain('unknown keys colour');
    expect(errorOf(['--config', join(dir, 'missing.json')])).toContain('cannot read');
    writeFileSync(file, '{ not json');
    expect(errorOf(['--config', file])).toContain('is not a JSON object');
  });

  it('serves plaintext only on loopback, unless --insecure', () => {
    const at = (listen: string, ...more: string[]) => [
      '--id',
      'n1',
      '--data',
      'd',
      '--listen',
      listen,
      '--nodes',
      `n1=${listen}`,
      ...more,
    ];
    expect(errorOf(at('10.0.0.1:7001'))).toContain(
      '--listen: 10.0.0.1:7001 is not a loopback address',
    );
    expect(errorOf(at('10.0.0.1:7001'))).toContain('--peer-listen: 10.0.0.1:7002');
    expect(loadConfig(at('10.0.0.1:7001', '--insecure'), {}).insecure).toBe(true);
    expect(loadConfig(at('localhost:7001'), {}).insecure).toBe(false);
    expect(loadConfig(at('127.0.0.2:7001'), {}).listen).toBe('127.0.0.2:7001');
    // TLS on the client port only: the peer port still needs mTLS or --insecure.
    const tls = ['--cert-file', 'c.pem', '--key-file', 'k.pem'];
    const e = errorOf(at('10.0.0.1:7001', ...tls));
    expect(e).not.toContain('--listen:');
    expect(e).toContain('--peer-listen: 10.0.0.1:7002 is not a loopback address');
    const mtls = ['--peer-cert-file', 'c.pem', '--peer-key-file', 'k.pem'];
    expect(
      loadConfig(at('10.0.0.1:7001', ...tls, ...mtls, '--peer-trusted-ca-file', 'ca.pem'), {})
        .peerTrustedCaFile,
    ).toBe('ca.pem');
    expect(loadConfig(at('10.0.0.1:7001'), { RINGSTORE_INSECURE: 'true' }).insecure).toBe(true);
  });

  it('takes TLS flags only in working sets', () => {
    expect(errorOf([...base, '--cert-file', 'c.pem'])).toContain(
      'give both --cert-file and --key-file, or neither',
    );
    expect(
      errorOf([...base, '--cert-file', 'c', '--key-file', 'k', '--client-cert-auth']),
    ).toContain('--client-cert-auth: needs --cert-file, --key-file and --trusted-ca-file');
    expect(errorOf([...base, '--peer-cert-file', 'c', '--peer-key-file', 'k'])).toContain(
      'peer mTLS needs all of --peer-cert-file, --peer-key-file and --peer-trusted-ca-file',
    );
    expect(errorOf([...base, '--max-inflight-requests', '0'])).toContain('--max-inflight-requests');
    expect(loadConfig([...base, '--rate-limit', 'app=10:20,*=5'], {}).rateLimit).toEqual([
      'app=10:20',
      '*=5',
    ]);
  });
});
