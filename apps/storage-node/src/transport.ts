// Transport security of the two ports (docs/security.md): TLS on the client port, optionally
// requiring client certificates; mutual TLS on the peer port, where the node id a peer speaks
// for is the one its certificate names (never a header). Certificates are re-read on SIGHUP.
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { ServerCredentials, credentials, experimental, type Metadata } from '@grpc/grpc-js';
import { nodeIdOf } from '@ringstore/certs';
import { ConfigError, type NodeConfig } from './config.js';
import { fromHeader } from './peer/link.js';
import type { PeerChannel } from './peer/peers.js';
import type { Logger } from './logger.js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

interface Material {
  readonly certificate: Buffer;
  readonly privateKey: Buffer;
  readonly ca: Buffer | undefined;
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${what} ${path}: ${(e as Error).message}`);
  }
}

/** Reads and checks a certificate, its key and an optional CA; ConfigError naming what is wrong. */
function loadMaterial(files: { cert: string; key: string; ca: string }): Material {
  const certificate = readPem('certificate', files.cert);
  const privateKey = readPem('key', files.key);
  const ca = files.ca === '' ? undefined : readPem('CA', files.ca);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificate);
  } catch (e) {
    throw new ConfigError(`certificate ${files.cert} is not a PEM certificate: ${String(e)}`);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(privateKey)))
      throw new ConfigError(`key ${files.key} does not belong to certificate ${files.cert}`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`key ${files.key} is not a PEM private key: ${String(e)}`);
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (e) {
      throw new ConfigError(`CA ${files.ca} is not a PEM certificate: ${String(e)}`);
    }
  }
  return { certificate, privateKey, ca };
}

/**
 * A certificate, its key and the CA to verify the other side with, from files, handed to
 * grpc-js's certificate-provider credentials: `reload()` re-reads the files and every server and
 * channel made with it uses the new ones for new handshakes. A reload that finds broken files
 * keeps the old material (and says why).
 */
export class FileCertificates implements experimental.CertificateProvider {
  private material: Material;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(private readonly files: { cert: string; key: string; ca: string }) {
    this.material = loadMaterial(files);
  }

  /** Re-reads the files; throws ConfigError (keeping the old material) when they are broken. */
  reload(): void {
    this.material = loadMaterial(this.files);
    for (const l of this.caListeners) l(this.caUpdate());
    for (const l of this.identityListeners) l(this.identityUpdate());
  }

  /** The current certificate, as X509 (its expiry for logs, its id for checks). */
  get certificate(): X509Certificate {
    return new X509Certificate(this.material.certificate);
  }

  private caUpdate(): experimental.CaCertificateUpdate | null {
    const ca = this.material.ca;
    return ca === undefined ? null : { caCertificate: ca };
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate {
    return { certificate: this.material.certificate, privateKey: this.material.privateKey };
  }

  // grpc-js registers its server's watcher only after adding these listeners: the first update
  // is handed over on the next turn (as its own file watcher does), or the server would never
  // see it and drop every connection.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    setImmediate(() => {
      if (this.caListeners.has(listener)) listener(this.caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    setImmediate(() => {
      if (this.identityListeners.has(listener)) listener(this.identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

/** Server credentials from a provider; the CA provider null: no client certificate is asked. */
function serverCredentialsOf(
  provider: FileCertificates,
  requireClientCertificate: boolean,
  withCa: boolean,
): ServerCredentials {
  // grpc-js 1.14 hands its first argument to the identity slot and its second to the CA slot
  // (null: no client certificate asked for), whatever the declared parameter names say.
  return experimental.createCertificateProviderServerCredentials(
    provider,
    withCa ? provider : null,
    requireClientCertificate,
  );
}

/** The TLS server name a node asks its peers for (SNI). */
const peerServerName = 'ringstore-peer';

/** A call on the peer port: its connection's certificate, and the headers (insecure mode). */
interface PeerCall {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate | undefined } | null;
  readonly metadata: Metadata;
}

export interface TransportSecurity {
  /** The client port's credentials: TLS when --cert-file is given. */
  readonly clientServer: ServerCredentials;
  /** The peer port's credentials: mutual TLS when the --peer-* files are given. */
  readonly peerServer: ServerCredentials;
  readonly peerTls: boolean;
  /**
   * Credentials to dial a peer with: with mTLS, the peer's certificate must name `expectedId`
   * (any node of the cluster when undefined, e.g. a seed whose id is not known yet).
   */
  peerChannel(expectedId: string | undefined): PeerChannel;
  /**
   * The node a peer call comes from: the id its certificate names (mTLS); without mTLS, what
   * the x-ringstore-from header says (plaintext is for loopback or --insecure networks only).
   * undefined: no node identity (a client certificate, none, or no header).
   */
  peerIdOf(call: PeerCall): string | undefined;
  /** SIGHUP: re-reads every certificate file; a broken file keeps the old one and is logged. */
  reload(log: Logger): void;
}

/** Builds the two ports' credentials from the configuration; ConfigError for broken files. */
export function transportOf(
  config: Pick<
    NodeConfig,
    | 'id'
    | 'certFile'
    | 'keyFile'
    | 'trustedCaFile'
    | 'clientCertAuth'
    | 'peerCertFile'
    | 'peerKeyFile'
    | 'peerTrustedCaFile'
  >,
): TransportSecurity {
  const client =
    config.certFile === ''
      ? undefined
      : new FileCertificates({
          cert: config.certFile,
          key: config.keyFile,
          ca: config.trustedCaFile,
        });
  const peer =
    config.peerCertFile === ''
      ? undefined
      : new FileCertificates({
          cert: config.peerCertFile,
          key: config.peerKeyFile,
          ca: config.peerTrustedCaFile,
        });
  const peerIdentity = peer === undefined ? undefined : nodeIdOf(peer.certificate);
  if (peer !== undefined && peerIdentity !== config.id)
    throw new ConfigError(
      peerIdentity === undefined
        ? `--peer-cert-file ${config.peerCertFile} names no node (make it with ringctl certs node)`
        : `--peer-cert-file ${config.peerCertFile} is node ${peerIdentity}'s, not ${config.id}'s`,
    );
  return {
    clientServer:
      client === undefined
        ? ServerCredentials.createInsecure()
        : serverCredentialsOf(client, config.clientCertAuth, config.trustedCaFile !== ''),
    peerServer:
      peer === undefined
        ? ServerCredentials.createInsecure()
        : serverCredentialsOf(peer, true, true),
    peerTls: peer !== undefined,
    peerChannel: (expectedId) => {
      if (peer === undefined) return { credentials: credentials.createInsecure(), options: {} };
      const creds = experimental.createCertificateProviderChannelCredentials(peer, peer, {
        // Who the peer is matters, not which host name it answered on: its certificate, signed
        // by the cluster CA, must name the node dialled (or any node, for a seed).
        checkServerIdentity: (_host, cert) => {
          const id = nodeIdOf(cert);
          if (id === undefined) return new Error('the peer certificate names no node');
          if (expectedId !== undefined && id !== expectedId)
            return new Error(`dialled ${expectedId}, the certificate names ${id}`);
          return undefined;
        },
      });
      // The TLS server name: a fixed one, as the identity check ignores it (and Node warns when
      // it is the IP address of a peer's ring entry, RFC 6066).
      return { credentials: creds, options: { 'grpc.ssl_target_name_override': peerServerName } };
    },
    peerIdOf: (call) => {
      if (peer !== undefined) {
        const cert = call.getAuthContext()?.sslPeerCertificate;
        return cert === undefined ? undefined : nodeIdOf(cert);
      }
      const claimed = call.metadata.get(fromHeader)[0];
      return typeof claimed === 'string' && claimed !== '' ? claimed : undefined;
    },
    reload: (log) => {
      for (const [port, provider] of [
        ['client', client],
        ['peer', peer],
      ] as const) {
        if (provider === undefined) continue;
        try {
          provider.reload();
          log.info(
            { port, validTo: provider.certificate.validTo },
            'certificates re-read (SIGHUP)',
          );
        } catch (e) {
          log.error(
            { port, reason: (e as Error).message },
            'certificates not re-read: kept the old ones',
          );
        }
      }
    },
  };
}
