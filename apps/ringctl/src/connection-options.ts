// How ringctl reaches a secured cluster: --token (or RINGSTORE_TOKEN) as a bearer token on every
// call, --ca-file for TLS, --cert-file and --key-file for a client certificate. Validated before
// any RPC, so a bad flag or an unreadable file is a usage error (exit 2) naming it. The token is
// never printed: no message here quotes it.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError } from './errors.js';
import type { RunIo } from './io.js';

/** The connection flags as commander hands them over. */
export interface ConnectionRawOptions {
  token?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** PEM files for TLS, read and checked. */
export interface TlsFiles {
  /** The cluster CA: the only CA whose node certificates ringctl accepts. */
  readonly ca: Buffer;
  /** The client certificate and its key, when the nodes require one. */
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  /** Where they came from, for messages. */
  readonly caFile: string;
  readonly certFile?: string | undefined;
}

/** How every channel and call of one run is secured. */
export interface Connection {
  /** Absent: plaintext. */
  readonly tls: TlsFiles | undefined;
  /** Sent as `authorization: Bearer <token>` with every call; absent: none. */
  readonly token: string | undefined;
}

export const plaintextConnection: Connection = { tls: undefined, token: undefined };

/** The environment variable --token defaults to (a flag shows in `ps`; the environment does not). */
export const tokenEnv = 'RINGSTORE_TOKEN';
/**
 * Longest token accepted: it travels in a header of every call, and gRPC refuses headers past
 * 8 KiB in all (the SDK has the same limit).
 */
export const tokenLengthMax = 4_096;
/** Largest PEM file read: a certificate or key is 1-2 KiB; a chain of a dozen fits easily. */
export const pemBytesMax = 64 * 1024;

export function addConnectionOptions(program: Command): void {
  program
    .option(
      '--token <token>',
      `bearer token sent with every call (default: $${tokenEnv}; prefer it: flags show in ps)`,
    )
    .option('--ca-file <file>', "use TLS, trusting only this CA (PEM) to sign nodes' certificates")
    .option(
      '--cert-file <file>',
      'client certificate (PEM) for nodes that require one; with --key-file',
    )
    .option('--key-file <file>', 'private key (PEM, unencrypted) of --cert-file');
}

export async function parseConnection(raw: ConnectionRawOptions, io: RunIo): Promise<Connection> {
  const envToken = io.env?.[tokenEnv];
  const token =
    raw.token !== undefined
      ? parseToken('--token', raw.token)
      : envToken !== undefined && envToken !== ''
        ? parseToken(tokenEnv, envToken)
        : undefined;
  return { tls: await parseTlsFiles(raw), token };
}

/** A token as an HTTP/2 header carries it; the messages say what is wrong, never the token. */
function parseToken(source: string, token: string): string {
  if (token.length < 1 || token.length > tokenLengthMax) {
    throw new UsageError(`${source} must be 1-${tokenLengthMax} characters, got ${token.length}`);
  }
  if (/^bearer\s/i.test(token)) {
    throw new UsageError(`${source} starts with 'Bearer ': give the token alone`);
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError(
      `${source} must be visible ASCII characters without spaces (it is sent in a header)`,
    );
  }
  return token;
}

async function parseTlsFiles(raw: ConnectionRawOptions): Promise<TlsFiles | undefined> {
  const { caFile, certFile, keyFile } = raw;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError(
      `--cert-file and --key-file go together: give both or neither (got only ${
        certFile === undefined ? '--key-file' : '--cert-file'
      })`,
    );
  }
  if (caFile === undefined) {
    if (certFile !== undefined) {
      throw new UsageError(
        '--cert-file and --key-file need --ca-file: client certificates are for TLS',
      );
    }
    return undefined;
  }
  const ca = await readPem('--ca-file', caFile);
  certificateOf('--ca-file', caFile, ca);
  if (certFile === undefined || keyFile === undefined) return { ca, caFile };
  const cert = await readPem('--cert-file', certFile);
  const key = await readPem('--key-file', keyFile);
  if (!certificateOf('--cert-file', certFile, cert).checkPrivateKey(privateKeyOf(keyFile, key))) {
    throw new UsageError(
      `--key-file ${keyFile} is not the key of --cert-file ${certFile}: the certificate is for another key`,
    );
  }
  return { ca, cert, key, caFile, certFile };
}

async function readPem(flag: string, path: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    const bytes = (await stat(path)).size;
    if (bytes > pemBytesMax) {
      throw new UsageError(
        `${flag} ${path} is ${bytes} bytes, larger than any PEM file (${pemBytesMax})`,
      );
    }
    pem = await readFile(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
  if (!pem.includes('-----BEGIN ')) {
    throw new UsageError(`${flag} ${path} is not PEM (no '-----BEGIN' line)`);
  }
  return pem;
}

function certificateOf(flag: string, path: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new UsageError(`${flag} ${path} is not a PEM certificate: ${(error as Error).message}`);
  }
}

function privateKeyOf(path: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new UsageError(
      `--key-file ${path} is not an unencrypted PEM private key: ${(error as Error).message}`,
    );
  }
}
