// A secured 3-node cluster (docs/security.md): TLS with client certificates on the client port,
// mutual TLS on the peer port, bearer tokens with roles. Real processes, real certificates.
import { X509Certificate } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import {
  Metadata,
  credentials,
  status,
  type ChannelCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import { createCa, createClientCert, createNodeCert } from '@ringstore/certs';
import {
  ClusterClient,
  KVClient,
  PeerClient,
  type GetResponse,
  type PutResponse,
  type SessionResponse,
} from '@ringstore/proto';
import { checkHealth, healthClient, startCluster, type Cluster } from '@ringstore/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../test-support/eventually.js';

const tokens = {
  admin: 'admin-token-0123456789abcdef',
  writer: 'write-token-0123456789abcdef',
  reader: 'read-token-0123456789abcdef',
};
const callDeadlineMs = 5_000;

interface Pki {
  readonly dir: string;
  readonly ca: Buffer;
  readonly cert: (name: string) => Buffer;
  readonly key: (name: string) => Buffer;
}

let dir: string;
let pki: Pki;
let other: Pki;
let cluster: Cluster;

async function makePki(root: string, nodes: readonly string[]): Promise<Pki> {
  await createCa({ dir: root });
  for (const id of nodes)
    await createNodeCert({ dir: root, id, hosts: ['127.0.0.1', 'localhost'] });
  await createClientCert({ dir: root, name: 'ops' });
  return {
    dir: root,
    ca: readFileSync(join(root, 'ca.pem')),
    cert: (name) => readFileSync(join(root, `${name}.pem`)),
    key: (name) => readFileSync(join(root, `${name}-key.pem`)),
  };
}

/** TLS to a node as a client would: the cluster CA, a client certificate (or another's). */
function tlsAs(p: Pki, name: string | undefined, ca = pki.ca): ChannelCredentials {
  return name === undefined
    ? credentials.createSsl(ca)
    : credentials.createSsl(ca, p.key(name), p.cert(name));
}

function bearer(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

const options = { 'grpc.ssl_target_name_override': 'localhost' };

function codeOf(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => status.OK,
    (e: ServiceError) => e.code,
  );
}

function kvCall<T>(
  address: string,
  creds: ChannelCredentials,
  fn: (c: KVClient, deadline: Date, cb: (e: ServiceError | null, r: T) => void) => void,
): Promise<T> {
  const client = new KVClient(address, creds, options);
  return new Promise<T>((resolve, reject) =>
    fn(client, new Date(Date.now() + callDeadlineMs), (e, r) => {
      client.close();
      if (e === null) resolve(r);
      else reject(e);
    }),
  );
}

function clusterCall<T>(
  address: string,
  creds: ChannelCredentials,
  fn: (c: ClusterClient, deadline: Date, cb: (e: ServiceError | null, r: T) => void) => void,
): Promise<T> {
  const client = new ClusterClient(address, creds, options);
  return new Promise<T>((resolve, reject) =>
    fn(client, new Date(Date.now() + callDeadlineMs), (e, r) => {
      client.close();
      if (e === null) resolve(r);
      else reject(e);
    }),
  );
}

function put(address: string, token: string | undefined, key: string, value: string, w = 2) {
  return kvCall<PutResponse>(address, tlsAs(pki, 'ops'), (c, deadline, cb) =>
    c.put(
      {
        key: Buffer.from(key),
        value: Buffer.from(value),
        context: Buffer.alloc(0),
        w,
        strictQuorum: false,
      },
      bearer(token),
      { deadline },
      cb,
    ),
  );
}

function get(address: string, token: string | undefined, key: string, r = 2) {
  return kvCall<GetResponse>(address, tlsAs(pki, 'ops'), (c, deadline, cb) =>
    c.get({ key: Buffer.from(key), r, strictQuorum: false }, bearer(token), { deadline }, cb),
  );
}

function peerFetchRing(address: string, creds: ChannelCredentials) {
  const client = new PeerClient(address, creds, options);
  return new Promise((resolve, reject) =>
    client.fetchRing({}, new Metadata(), { deadline: Date.now() + callDeadlineMs }, (e, r) => {
      client.close();
      if (e === null) resolve(r);
      else reject(e);
    }),
  );
}

function addressOf(id: string): string {
  return cluster.node(id).address;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringstore-secured-'));
  pki = await makePki(join(dir, 'pki'), ['n1', 'n2', 'n3']);
  other = await makePki(join(dir, 'other-pki'), ['n1']);
  const tokenFile = join(dir, 'tokens');
  writeFileSync(
    tokenFile,
    `${tokens.admin} admin ops\n${tokens.writer} write app\n${tokens.reader} read dashboard\n`,
    { mode: 0o600 },
  );
  const files = (id: string) => [
    ...['--cert-file', join(pki.dir, `${id}.pem`), '--key-file', join(pki.dir, `${id}-key.pem`)],
    ...['--trusted-ca-file', join(pki.dir, 'ca.pem'), '--client-cert-auth'],
    ...['--peer-cert-file', join(pki.dir, `${id}.pem`)],
    ...['--peer-key-file', join(pki.dir, `${id}-key.pem`)],
    ...['--peer-trusted-ca-file', join(pki.dir, 'ca.pem')],
  ];
  cluster = await startCluster({
    nodes: 3,
    basePort: 0,
    dataDir: join(dir, 'data'),
    logDir: join(dir, 'logs'),
    extraArgs: ['--auth-token-file', tokenFile, '--gossip-interval-ms', '250'],
    nodeArgs: files,
    clientCredentials: credentials.createSsl(
      pki.ca,
      pki.key('ops'),
      pki.cert('ops'),
      // the launcher dials 127.0.0.1: the certificate names it, so no override is needed
    ),
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('a secured cluster', () => {
  it('replicates over mutual TLS: a write at W=3 reads back at R=3 on another node', async () => {
    // A put at W=3 retried without its context would be a second, concurrent write (two siblings):
    // retry on a throwaway key until every peer link is up, then write the key under test once.
    await eventually(() => put(addressOf('n1'), tokens.writer, 'secured-warm-up', 'x', 3), 15_000);
    await put(addressOf('n1'), tokens.writer, 'secured-key', 'v1', 3);
    const res = await get(addressOf('n3'), tokens.reader, 'secured-key', 3);
    expect(res.siblings.map((s) => Buffer.from(s.value).toString())).toEqual(['v1']);
  }, 30_000);

  it('refuses plaintext on both ports', async () => {
    const plain = credentials.createInsecure();
    expect(
      await codeOf(
        kvCall(addressOf('n1'), plain, (c, deadline, cb) =>
          c.get(
            { key: Buffer.from('k'), r: 0, strictQuorum: false },
            bearer(tokens.reader),
            { deadline },
            cb,
          ),
        ),
      ),
    ).toBe(status.UNAVAILABLE);
    expect(await codeOf(peerFetchRing(cluster.node('n1').peerAddress, plain))).toBe(
      status.UNAVAILABLE,
    );
  }, 20_000);

  it('refuses a client without a certificate, or with one of another CA', async () => {
    const read = (creds: ChannelCredentials) =>
      codeOf(
        kvCall(addressOf('n1'), creds, (c, deadline, cb) =>
          c.get(
            { key: Buffer.from('k'), r: 0, strictQuorum: false },
            bearer(tokens.reader),
            { deadline },
            cb,
          ),
        ),
      );
    expect(await read(tlsAs(pki, undefined))).toBe(status.UNAVAILABLE);
    expect(await read(tlsAs(other, 'ops', pki.ca))).toBe(status.UNAVAILABLE);
    expect(await read(tlsAs(pki, 'ops'))).toBe(status.OK);
  }, 20_000);

  it('gives each role what it may do, and no more', async () => {
    const n1 = addressOf('n1');
    const ops = tlsAs(pki, 'ops');
    const stats = (token: string | undefined) =>
      codeOf(
        clusterCall(n1, ops, (c, deadline, cb) =>
          c.getNodeStats({}, bearer(token), { deadline }, cb),
        ),
      );
    const ring = (token: string | undefined) =>
      codeOf(
        clusterCall(n1, ops, (c, deadline, cb) => c.getRing({}, bearer(token), { deadline }, cb)),
      );
    const del = (token: string | undefined) =>
      codeOf(
        kvCall(n1, ops, (c, deadline, cb) =>
          c.delete(
            { key: Buffer.from('role-key'), context: Buffer.alloc(0), w: 0, strictQuorum: false },
            bearer(token),
            { deadline },
            cb,
          ),
        ),
      );
    // No token, an unknown one: UNAUTHENTICATED, before the key is looked at.
    expect(await codeOf(get(n1, undefined, 'secured-key'))).toBe(status.UNAUTHENTICATED);
    expect(await codeOf(get(n1, 'not-a-token-0123456789', 'secured-key'))).toBe(
      status.UNAUTHENTICATED,
    );
    expect(await codeOf(get(n1, undefined, 'no-such-key'))).toBe(status.UNAUTHENTICATED);
    // read: Get and GetRing; not Put, Delete or admin calls.
    expect(await codeOf(get(n1, tokens.reader, 'secured-key'))).toBe(status.OK);
    expect(await ring(tokens.reader)).toBe(status.OK);
    expect(await codeOf(put(n1, tokens.reader, 'role-key', 'x'))).toBe(status.PERMISSION_DENIED);
    expect(await del(tokens.reader)).toBe(status.PERMISSION_DENIED);
    expect(await stats(tokens.reader)).toBe(status.PERMISSION_DENIED);
    // write: read + Put and Delete; not admin calls.
    expect(await codeOf(put(n1, tokens.writer, 'role-key', 'x'))).toBe(status.OK);
    expect(await del(tokens.writer)).toBe(status.OK);
    expect(await stats(tokens.writer)).toBe(status.PERMISSION_DENIED);
    // admin: everything.
    expect(await stats(tokens.admin)).toBe(status.OK);
    expect(await codeOf(put(n1, tokens.admin, 'role-key', 'y'))).toBe(status.OK);
  }, 30_000);

  it("checks a session's credentials on every call it carries, by the token's role", async () => {
    const sessionAs = async (token: string | undefined) => {
      const client = new KVClient(addressOf('n2'), tlsAs(pki, 'ops'), options);
      const stream = client.session(bearer(token));
      try {
        const replies = new Promise<SessionResponse['replies']>((resolve, reject) => {
          const got: SessionResponse['replies'] = [];
          const timer = setTimeout(() => reject(new Error('no replies')), callDeadlineMs);
          stream.on('data', (frame: SessionResponse) => {
            got.push(...frame.replies);
            if (got.length === 2) {
              clearTimeout(timer);
              resolve(got);
            }
          });
          stream.on('error', (e: Error) => {
            clearTimeout(timer);
            reject(e);
          });
        });
        stream.write({
          calls: [
            {
              id: 1n,
              timeoutMs: 2_000,
              call: {
                $case: 'get',
                value: { key: Buffer.from('secured-key'), r: 0, strictQuorum: false },
              },
            },
            {
              id: 2n,
              timeoutMs: 2_000,
              call: {
                $case: 'put',
                value: {
                  key: Buffer.from('secured-session'),
                  value: Buffer.from('s'),
                  context: Buffer.alloc(0),
                  w: 0,
                  strictQuorum: false,
                },
              },
            },
          ],
        });
        const byId = new Map((await replies).map((r) => [r.id, r.result]));
        const codeOfResult = (id: bigint) => {
          const r = byId.get(id);
          return r?.$case === 'error' ? r.value.code : status.OK;
        };
        return [codeOfResult(1n), codeOfResult(2n)];
      } finally {
        stream.cancel();
        client.close();
      }
    };
    expect(await sessionAs(undefined)).toEqual([status.UNAUTHENTICATED, status.UNAUTHENTICATED]);
    expect(await sessionAs(tokens.reader)).toEqual([status.OK, status.PERMISSION_DENIED]);
    expect(await sessionAs(tokens.writer)).toEqual([status.OK, status.OK]);
  }, 20_000);

  it('answers health without a token', async () => {
    const client = healthClient(addressOf('n2'), tlsAs(pki, 'ops'));
    try {
      expect(await checkHealth(client, callDeadlineMs)).toBe('SERVING');
    } finally {
      client.close();
    }
  }, 20_000);

  it('refuses a client certificate, or none, on the peer port', async () => {
    const peer = cluster.node('n1').peerAddress;
    expect(await codeOf(peerFetchRing(peer, tlsAs(pki, 'ops')))).toBe(status.UNAUTHENTICATED);
    expect(await codeOf(peerFetchRing(peer, tlsAs(pki, undefined)))).toBe(status.UNAVAILABLE);
    expect(await codeOf(peerFetchRing(peer, tlsAs(other, 'n1', pki.ca)))).toBe(status.UNAVAILABLE);
    expect(await codeOf(peerFetchRing(peer, tlsAs(pki, 'n2')))).toBe(status.OK);
  }, 20_000);

  it("takes a peer's identity from its certificate, not from a header", async () => {
    const client = new PeerClient(cluster.node('n1').peerAddress, tlsAs(pki, 'n2'), options);
    try {
      const md = new Metadata();
      md.set('x-ringstore-from', 'n3');
      const gossipAs = (from: string) =>
        codeOf(
          new Promise((resolve, reject) =>
            client.gossip(
              { from, members: [], ring: undefined },
              md,
              { deadline: Date.now() + callDeadlineMs },
              (e, r) => (e === null ? resolve(r) : reject(e)),
            ),
          ),
        );
      // n2's certificate, a header claiming n3, a message claiming n3: refused.
      expect(await gossipAs('n3')).toBe(status.PERMISSION_DENIED);
      expect(await gossipAs('n2')).toBe(status.OK);
    } finally {
      client.close();
    }
  }, 20_000);

  it('re-reads the token file and the certificates on SIGHUP', async () => {
    const n1 = addressOf('n1');
    const late = 'late-token-0123456789abcdef';
    expect(await codeOf(get(n1, late, 'secured-key'))).toBe(status.UNAUTHENTICATED);
    appendFileSync(join(dir, 'tokens'), `${late} read late\n`);
    const before = await presentedFingerprint(n1);
    await createNodeCert({ dir: pki.dir, id: 'n1', hosts: ['127.0.0.1', 'localhost'] });
    const reissued = new X509Certificate(pki.cert('n1')).fingerprint256;
    expect(reissued).not.toBe(before);
    process.kill(cluster.node('n1').pid, 'SIGHUP');
    await eventually(async () => {
      expect(await codeOf(get(n1, late, 'secured-key'))).toBe(status.OK);
      expect(await presentedFingerprint(n1)).toBe(reissued);
    }, 10_000);
  }, 30_000);
});

/** The SHA-256 fingerprint of the certificate a node presents on its client port. */
function presentedFingerprint(address: string): Promise<string> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.split(':').pop()),
  ];
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      {
        host,
        port,
        ca: pki.ca,
        cert: pki.cert('ops'),
        key: pki.key('ops'),
        servername: 'localhost',
        ALPNProtocols: ['h2'],
      },
      () => {
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        socket.destroy();
        resolve(fingerprint);
      },
    );
    socket.setTimeout(5_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('error', reject);
  });
}
