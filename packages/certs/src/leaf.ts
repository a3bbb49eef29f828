// Node and client certificates, signed by the CA in the same directory. A node certificate serves
// the client port and the peer port and dials peers, so it is good for serverAuth and clientAuth
// and names every host the node is reached at; a client certificate is for clientAuth only. Each
// carries its identity as a URI SAN: urn:ringstore:node:ID or urn:ringstore:client:NAME.
import { X509Certificate } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Extension } from '@peculiar/x509';
import { loadAuthority, type Authority } from './authority.js';
import { CertsError } from './errors.js';
import { certFileMode, keyFileMode, readPemIfExists, writeFiles } from './files.js';
import { clientNameOf, clientUri, nodeIdOf, nodeUri } from './identity.js';
import { describeIssued, lifetime, type IssuedCert } from './issued.js';
import { parseDays, parseHosts, parseName, type HostName } from './names.js';
import {
  crypto,
  generateKeyPair,
  privateKeyPem,
  randomSerialNumber,
  signingAlgorithm,
  x509Library,
  type CryptoKey,
} from './x509.js';

/**
 * Default leaf lifetime: 825 days, the longest the CA/Browser Forum allowed TLS server
 * certificates until 2020, and what macOS and iOS still accept for private CAs.
 */
export const leafDaysDefault = 825;

export interface CreateNodeCertOptions {
  /** The directory of ca.pem and ca-key.pem, where ID.pem and ID-key.pem are written. */
  readonly dir: string;
  /** The node id (its --id). */
  readonly id: string;
  /** Every DNS name and IP address the node is reached at, client and peer port alike. */
  readonly hosts: readonly string[];
  /** Default leafDaysDefault; never past the CA's own end. */
  readonly days?: number | undefined;
}

export interface CreateClientCertOptions {
  readonly dir: string;
  /** The client's name, as a token file would name it. */
  readonly name: string;
  /** Default leafDaysDefault; never past the CA's own end. */
  readonly days?: number | undefined;
}

/** A leaf to issue, validated. */
interface LeafRequest {
  readonly kind: 'node' | 'client';
  readonly dir: string;
  readonly name: string;
  readonly days: number;
  readonly hosts: readonly HostName[];
  readonly uri: string;
}

/** Writes DIR/ID.pem and DIR/ID-key.pem (replacing an earlier certificate of the same node). */
export async function createNodeCert(options: CreateNodeCertOptions): Promise<IssuedCert> {
  const id = parseName('the node id', options.id);
  return issueLeaf({
    kind: 'node',
    dir: resolve(options.dir),
    name: id,
    days: parseDays(options.days ?? leafDaysDefault),
    hosts: parseHosts(options.hosts),
    uri: nodeUri(id),
  });
}

/** Writes DIR/NAME.pem and DIR/NAME-key.pem (replacing an earlier certificate of that client). */
export async function createClientCert(options: CreateClientCertOptions): Promise<IssuedCert> {
  const name = parseName('the client name', options.name);
  return issueLeaf({
    kind: 'client',
    dir: resolve(options.dir),
    name,
    days: parseDays(options.days ?? leafDaysDefault),
    hosts: [],
    uri: clientUri(name),
  });
}

async function issueLeaf(request: LeafRequest): Promise<IssuedCert> {
  const certFile = join(request.dir, `${request.name}.pem`);
  const keyFile = join(request.dir, `${request.name}-key.pem`);
  const now = new Date();
  const authority = await loadAuthority(request.dir, now);
  await checkReplaceable(certFile, request);
  const x509 = await x509Library();
  const keys = await generateKeyPair();
  const { notBefore, notAfter } = lifetime(request.days, authority.notAfter, now);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: [{ CN: [request.name] }],
      issuer: authority.certificate.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: authority.signingKey,
      signingAlgorithm,
      extensions: await leafExtensions(request, keys.publicKey, authority),
    },
    crypto,
  );
  const certPem = certificate.toString('pem') + '\n';
  await writeFiles([
    { path: keyFile, contents: await privateKeyPem(keys.privateKey), mode: keyFileMode },
    { path: certFile, contents: certPem, mode: certFileMode },
  ]);
  return describeIssued(request.kind, certFile, keyFile, certPem);
}

async function leafExtensions(
  request: LeafRequest,
  publicKey: CryptoKey,
  authority: Authority,
): Promise<Extension[]> {
  const x509 = await x509Library();
  const { ExtendedKeyUsage } = x509;
  const usages =
    request.kind === 'node'
      ? [ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]
      : [ExtendedKeyUsage.clientAuth];
  const altNames = [
    ...request.hosts.map((host) => ({ type: host.type, value: host.value })),
    { type: 'url' as const, value: request.uri },
  ];
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    new x509.SubjectAlternativeNameExtension(altNames, false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
    ...(authority.keyId === undefined
      ? []
      : [new x509.AuthorityKeyIdentifierExtension(authority.keyId, false)]),
  ];
}

/**
 * Replacing NAME.pem is how a certificate is renewed; but a file of that name that holds another
 * kind of certificate (a client named like a node) or no certificate at all is someone else's.
 */
async function checkReplaceable(certFile: string, request: LeafRequest): Promise<void> {
  const pem = await readPemIfExists(certFile);
  if (pem === undefined) return;
  let existing: X509Certificate | undefined;
  try {
    existing = new X509Certificate(pem);
  } catch {
    existing = undefined;
  }
  const sameOwner =
    existing !== undefined &&
    !existing.ca &&
    (request.kind === 'node'
      ? nodeIdOf(existing) === request.name
      : nodeIdOf(existing) === undefined && clientNameOf(existing) === request.name);
  if (!sameOwner) {
    throw new CertsError(
      'name-taken',
      `${certFile} exists and is not a ${request.kind} certificate of ${request.name}: ` +
        'choose another name, or move the file away',
    );
  }
}
