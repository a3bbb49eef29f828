import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { Metadata, credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { AssertionError, assert } from './assert.js';

/** TLS on the nodes' client port. */
export interface TlsOptions {
  /** PEM of the cluster CA: the only CA the client trusts to have signed the nodes' certificates. */
  readonly ca: Buffer | string;
  /** PEM certificate (chain) presented to nodes that require client certificates; with `key`. */
  readonly cert?: Buffer | string | undefined;
  /** PEM private key of `cert` (unencrypted); with `cert`. */
  readonly key?: Buffer | string | undefined;
}

/**
 * Longest token accepted. It travels in a header of every call, and grpc-js and the node refuse
 * headers past 8 KiB in all; opaque tokens and JWTs are far shorter.
 */
export const tokenLengthMax = 4_096;
/** Longest PEM accepted for the CA, the certificate or the key: a chain of a dozen certificates. */
export const pemBytesMax = 64 * 1024;

/** The metadata entry that carries the token, as `Bearer <token>`. */
export const authorizationHeader = 'authorization';

/** How every channel and every call of one client is secured. */
export interface Transport {
  /** The credentials of every channel: one object, so one TLS context, shared by all channels. */
  readonly channelCredentials: ChannelCredentials;
  /**
   * The metadata one call starts with: the bearer token on a plaintext channel (grpc-js refuses
   * call credentials there); empty with TLS, where call credentials add the token.
   */
  readonly callMetadata: () => Metadata;
}

/**
 * Validates `tls` and `token` (a bad one is a programmer error) and builds the transport. The
 * token is kept only in closures, never in a field, so printing a client or its options never
 * shows it; no message here quotes it either.
 */
export function transportOf(tls: TlsOptions | undefined, token: string | undefined): Transport {
  if (token !== undefined) checkToken(token);
  const authorization = token === undefined ? undefined : `Bearer ${token}`;
  const metadataOf = (): Metadata => {
    const metadata = new Metadata();
    if (authorization !== undefined) metadata.set(authorizationHeader, authorization);
    return metadata;
  };
  if (tls === undefined)
    return { channelCredentials: credentials.createInsecure(), callMetadata: metadataOf };
  const ssl = sslCredentials(tls);
  const channelCredentials =
    authorization === undefined
      ? ssl
      : credentials.combineChannelCredentials(
          ssl,
          credentials.createFromMetadataGenerator((_params, callback) =>
            callback(null, metadataOf()),
          ),
        );
  return { channelCredentials, callMetadata: () => new Metadata() };
}

function checkToken(token: unknown): void {
  assert(typeof token === 'string', `token must be a string, got ${typeof token}`);
  assert(
    token.length >= 1 && token.length <= tokenLengthMax,
    `token must be 1..${tokenLengthMax} characters, got ${token.length}`,
  );
  assert(
    !/^bearer\s/i.test(token),
    "token starts with 'Bearer ': pass the token alone, the SDK adds the scheme",
  );
  assert(
    !/\s/.test(token),
    'token contains whitespace (a trailing newline from reading a file?): pass the token alone',
  );
  assert(
    /^[\x21-\x7e]+$/.test(token),
    'token must be visible ASCII characters: it is sent in an HTTP/2 header',
  );
}

function sslCredentials(tls: TlsOptions): ChannelCredentials {
  assert(typeof tls === 'object' && tls !== null, 'tls must be an object { ca, cert?, key? }');
  assert(
    tls.ca !== undefined,
    "tls.ca is required: the PEM of the CA that signed the nodes' certificates",
  );
  const ca = pemOf(tls.ca, 'tls.ca');
  certificateOf(ca, 'tls.ca');
  assert(
    (tls.cert === undefined) === (tls.key === undefined),
    `tls.cert and tls.key go together (client-certificate auth): give both or neither, got only ${
      tls.cert === undefined ? 'tls.key' : 'tls.cert'
    }`,
  );
  if (tls.cert === undefined || tls.key === undefined) return credentials.createSsl(ca);
  const cert = pemOf(tls.cert, 'tls.cert');
  const key = pemOf(tls.key, 'tls.key');
  assert(
    certificateOf(cert, 'tls.cert').checkPrivateKey(privateKeyOf(key)),
    'tls.cert does not match tls.key: the certificate is for another key',
  );
  return credentials.createSsl(ca, key, cert);
}

/** `value` as the bytes of a PEM document; a file path or DER passed by mistake is refused. */
function pemOf(value: Buffer | string, name: string): Buffer {
  assert(
    typeof value === 'string' || Buffer.isBuffer(value),
    `${name} must be PEM text (a string or a Buffer), got ${typeof value}`,
  );
  const pem = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  assert(
    pem.length >= 1 && pem.length <= pemBytesMax,
    `${name} must be 1..${pemBytesMax} bytes of PEM, got ${pem.length}`,
  );
  assert(
    pem.includes('-----BEGIN '),
    `${name} is not PEM (no '-----BEGIN' line): pass the file's contents, not its path`,
  );
  return pem;
}

function certificateOf(pem: Buffer, name: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new AssertionError(`${name} is not a PEM certificate: ${messageOf(e)}`);
  }
}

function privateKeyOf(pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw new AssertionError(`tls.key is not an unencrypted PEM private key: ${messageOf(e)}`);
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
