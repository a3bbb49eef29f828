import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';

/**
 * Bearer tokens with roles: the `--auth-token-file FILE` format, one credential a line:
 *
 *     TOKEN ROLE [NAME]           a plain token (hashed on load; only the digest is kept)
 *     sha256:HEX ROLE [NAME]      the SHA-256 of a token, 64 hex digits: the file holds no secret
 *
 * ROLE is read, write or admin; NAME (letters, digits, _ . -, at most 64) names the caller in logs
 * and rate limits, by default `token-` and the first 8 hex digits of the digest. Blank lines and
 * lines starting with `#` are ignored (so a token cannot start with `#`). Several tokens may share
 * a name, with one role (rotation: the old and the new token of a client side by side).
 */

export type Role = 'read' | 'write' | 'admin';
export const roles: readonly Role[] = ['read', 'write', 'admin'];

/** Who a request comes from, as a valid token says. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
}

/** Shorter tokens are refused as weak: 16 random printable characters are about 100 bits. */
export const tokenCharsMin = 16;
/** Longer bearer values are refused unhashed, bounding the work an unknown caller can cause. */
export const tokenCharsMax = 512;
/** Tokens per file: the rate limiter keeps a bucket per name, and at most 10,000 of them. */
export const tokensMax = 10_000;
/** Larger files are refused before reading: 10,000 lines of the longest form take under 6 MiB. */
export const tokenFileBytesMax = 8 * 1024 * 1024;

const namePattern = /^[A-Za-z0-9_.-]{1,64}$/;
/** Printable ASCII without the space: 0x21 to 0x7e. */
const tokenPattern = /^[\x21-\x7e]+$/;
const digestPattern = /^[0-9a-fA-F]{64}$/;
/** Names the node gives callers itself: a token may not take them (see rate-limit.ts). */
const reservedNames: ReadonlySet<string> = new Set(['anonymous', 'default']);

export type TokenFileErrorCode =
  | 'unreadable'
  | 'too-large'
  | 'syntax'
  | 'weak-token'
  | 'bad-token'
  | 'bad-digest'
  | 'bad-role'
  | 'bad-name'
  | 'duplicate-token'
  | 'name-conflict'
  | 'too-many'
  | 'empty';

/** A token file the node cannot use. The message names the line, never a token or a field. */
export class TokenFileError extends Error {
  override readonly name = 'TokenFileError';
  constructor(
    readonly code: TokenFileErrorCode,
    /** 1-based; 0 when the file as a whole is at fault. */
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** The SHA-256 of a token, as the `sha256:` lines write it (lowercase hex). */
export function tokenDigestHex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** One accepted token: its digest and whom it names. */
export interface TokenEntry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

/** Bytes of the digest that pick a bucket: a collision only lengthens the constant-time scan. */
const bucketKeyBytes = 8;

function bucketKey(digest: Buffer): string {
  return digest.subarray(0, bucketKeyBytes).toString('hex');
}

/**
 * The tokens a node accepts, held as SHA-256 digests only. A lookup hashes the bearer, finds the
 * candidates by the first 8 bytes of its digest (a Map lookup whose timing can only tell an
 * attacker about a digest they cannot steer without a preimage), then compares the whole digest
 * with crypto.timingSafeEqual.
 */
export class TokenTable {
  private readonly buckets = new Map<string, TokenEntry[]>();
  private readonly nameSet = new Set<string>();
  readonly size: number;

  /** Built by parseTokenFile and loadTokenFile, which validate the entries. */
  constructor(entries: readonly TokenEntry[]) {
    for (const entry of entries) {
      const key = bucketKey(entry.digest);
      const bucket = this.buckets.get(key);
      if (bucket === undefined) this.buckets.set(key, [entry]);
      else bucket.push(entry);
      this.nameSet.add(entry.principal.name);
    }
    this.size = entries.length;
  }

  /** The caller a bearer token names, or undefined for an unknown token. */
  lookup(bearer: string): Principal | undefined {
    if (bearer.length === 0 || bearer.length > tokenCharsMax) return undefined;
    const digest = createHash('sha256').update(bearer, 'utf8').digest();
    let found: Principal | undefined;
    for (const entry of this.buckets.get(bucketKey(digest)) ?? []) {
      if (timingSafeEqual(entry.digest, digest)) found = entry.principal;
    }
    return found;
  }

  /** Every name the file gives (for checking that --rate-limit names exist). */
  names(): ReadonlySet<string> {
    return this.nameSet;
  }
}

/**
 * The token of an `authorization` header value `Bearer TOKEN` (the scheme in any case, one space,
 * one token of printable ASCII); undefined for anything else.
 */
export function bearerOf(authorizationHeaderValue: string | undefined): string | undefined {
  const value = authorizationHeaderValue;
  if (value === undefined || value.length > 'bearer '.length + tokenCharsMax) return undefined;
  const match = /^bearer ([\x21-\x7e]+)$/i.exec(value);
  return match?.[1];
}

interface ParsedLine {
  readonly digestHex: string;
  readonly role: Role;
  readonly name: string;
}

function lineError(
  code: TokenFileErrorCode,
  lineNo: number,
  source: string,
  why: string,
): TokenFileError {
  return new TokenFileError(code, lineNo, `${source} line ${lineNo}: ${why}`);
}

function credentialDigestHex(field: string, lineNo: number, source: string): string {
  const fail = (code: TokenFileErrorCode, why: string): TokenFileError =>
    lineError(code, lineNo, source, why);
  // Any case of the prefix: a mistyped `SHA256:` line must not become a plain token silently.
  if (/^sha256:/i.test(field)) {
    const hex = field.slice('sha256:'.length);
    if (!digestPattern.test(hex))
      throw fail('bad-digest', 'sha256: must be followed by the 64 hex digits of the SHA-256');
    return hex.toLowerCase();
  }
  if (!tokenPattern.test(field))
    throw fail('bad-token', 'the token must be printable ASCII without spaces');
  if (field.length < tokenCharsMin)
    throw fail(
      'weak-token',
      `the token is shorter than ${tokenCharsMin} characters (weak); ` +
        'use a random one, e.g. `openssl rand -hex 32`',
    );
  if (field.length > tokenCharsMax)
    throw fail('bad-token', `the token is longer than ${tokenCharsMax} characters`);
  return tokenDigestHex(field);
}

/** One line: undefined for a blank line or a comment. */
function parseLine(raw: string, lineNo: number, source: string): ParsedLine | undefined {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return undefined;
  const fields = line.split(/[ \t]+/);
  const [credential, role, name] = fields;
  if (fields.length < 2 || fields.length > 3 || credential === undefined || role === undefined)
    throw lineError(
      'syntax',
      lineNo,
      source,
      `expected "TOKEN ROLE [NAME]" or "sha256:HEX ROLE [NAME]" (${fields.length} fields)`,
    );
  const digestHex = credentialDigestHex(credential, lineNo, source);
  if (!(roles as readonly string[]).includes(role))
    throw lineError('bad-role', lineNo, source, 'the role must be read, write or admin');
  return { digestHex, role: role as Role, name: checkedName(name, digestHex, lineNo, source) };
}

function checkedName(
  name: string | undefined,
  digestHex: string,
  lineNo: number,
  source: string,
): string {
  if (name === undefined) return `token-${digestHex.slice(0, 8)}`;
  if (!namePattern.test(name))
    throw lineError('bad-name', lineNo, source, 'the name must be 1-64 letters, digits, _ . -');
  if (reservedNames.has(name))
    throw lineError(
      'bad-name',
      lineNo,
      source,
      `the names ${[...reservedNames].join(' and ')} are reserved`,
    );
  return name;
}

/** Duplicates and limits across lines: the same token twice, one name with two roles. */
class TableBuilder {
  private readonly lineOfDigest = new Map<string, number>();
  private readonly nameRoles = new Map<string, { role: Role; line: number }>();
  readonly entries: TokenEntry[] = [];

  constructor(private readonly source: string) {}

  add(parsed: ParsedLine, lineNo: number): void {
    const fail = (code: TokenFileErrorCode, why: string): TokenFileError =>
      lineError(code, lineNo, this.source, why);
    if (this.entries.length >= tokensMax) throw fail('too-many', `more than ${tokensMax} tokens`);
    const earlier = this.lineOfDigest.get(parsed.digestHex);
    if (earlier !== undefined) throw fail('duplicate-token', `the same token as line ${earlier}`);
    // The name is not shown: a token written in its place must not reach a log.
    const named = this.nameRoles.get(parsed.name);
    if (named !== undefined && named.role !== parsed.role)
      throw fail(
        'name-conflict',
        `the name has role ${named.role} on line ${named.line} and ${parsed.role} here ` +
          '(one role per name)',
      );
    this.lineOfDigest.set(parsed.digestHex, lineNo);
    this.nameRoles.set(parsed.name, { role: parsed.role, line: lineNo });
    this.entries.push({
      digest: Buffer.from(parsed.digestHex, 'hex'),
      principal: { name: parsed.name, role: parsed.role },
    });
  }
}

/** Parses a token file's text; `source` prefixes error messages (e.g. the flag and path). */
export function parseTokenFile(text: string, source = 'token file'): TokenTable {
  if (text.length > tokenFileBytesMax)
    throw new TokenFileError('too-large', 0, `${source}: larger than 8 MiB`);
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const builder = new TableBuilder(source);
  lines.forEach((raw, i) => {
    const parsed = parseLine(raw, i + 1, source);
    if (parsed !== undefined) builder.add(parsed, i + 1);
  });
  if (builder.entries.length === 0)
    throw new TokenFileError(
      'empty',
      0,
      `${source}: no tokens (with authentication on, every call would be refused)`,
    );
  return new TokenTable(builder.entries);
}

export interface LoadedTokens {
  readonly table: TokenTable;
  /** For the log: e.g. a file others may read. */
  readonly warnings: readonly string[];
}

/** Reads and parses `--auth-token-file`; warns when group or others have any access to it. */
export function loadTokenFile(path: string): LoadedTokens {
  const source = `--auth-token-file ${path}`;
  const { text, mode } = readBounded(path, source);
  const table = parseTokenFile(text, source);
  const warnings: string[] = [];
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    warnings.push(`${source}: group or others have access (mode ${octal}); chmod 600 it`);
  }
  return { table, warnings };
}

function readBounded(path: string, source: string): { text: string; mode: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new TokenFileError('unreadable', 0, `${source}: cannot open it (${errnoOf(e)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new TokenFileError('unreadable', 0, `${source}: not a regular file`);
    if (stat.size > tokenFileBytesMax)
      throw new TokenFileError('too-large', 0, `${source}: larger than 8 MiB`);
    return { text: readFileSync(fd, 'utf8'), mode: stat.mode };
  } catch (e) {
    if (e instanceof TokenFileError) throw e;
    throw new TokenFileError('unreadable', 0, `${source}: cannot read it (${errnoOf(e)})`);
  } finally {
    closeSync(fd);
  }
}

function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(e);
}
