import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { certificateHost, plaintextSecurity, tlsSecurity } from './security.js';

describe('a run’s security', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-security-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('plaintext: --insecure only on a private network, no credentials, nothing to prepare', async () => {
    const netns = plaintextSecurity(true);
    expect(netns).toMatchObject({ tls: false, clusterArgs: ['--insecure'], client: {} });
    expect(netns.nodeArgs).toBeUndefined();
    expect(netns.healthCredentials).toBeUndefined();
    expect(netns.access.metadata().get('authorization')).toEqual([]);
    expect(plaintextSecurity(false).clusterArgs).toEqual([]);
    await expect(netns.prepareNode('n9', '10.213.0.19:7001')).resolves.toBeUndefined();
  });

  it('names a node’s address in its certificate, or the launcher’s loopback', () => {
    expect(certificateHost('10.213.2.14:7001')).toBe('10.213.2.14');
    expect(certificateHost(undefined)).toBe('127.0.0.1');
  });

  it('--tls: no --insecure, each node its certificate, the admin token for the harness and the write token for the workload', async () => {
    const pkiDir = join(dir, 'pki');
    const tls = await tlsSecurity(pkiDir, ['n1', 'n2'], ['10.213.5.11:7001', '10.213.5.12:7001']);
    expect(tls.tls).toBe(true);
    expect(tls.clusterArgs).toEqual([]);
    expect(tls.nodeArgs?.('n2')).toContain(join(pkiDir, 'n2.pem'));
    expect(tls.healthCredentials?._isSecure()).toBe(true);
    expect(tls.access.credentials._isSecure()).toBe(true);
    const bearer = tls.access.metadata().get('authorization');
    expect(bearer).toHaveLength(1);
    expect(tls.client.token).toBeDefined();
    expect(bearer[0]).not.toBe(`Bearer ${tls.client.token}`);
    expect(tls.client.tls?.cert).toBeDefined();
    await tls.prepareNode('n6', undefined);
    expect(tls.note).toMatch(/TLS on the client port .* mutual TLS on the peer port/);
  }, 60_000);
});
