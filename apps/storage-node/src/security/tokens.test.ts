import type * as crypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  TokenFileError,
  bearerOf,
  loadTokenFile,
  parseTokenFile,
  tokenCharsMax,
  tokenDigestHex,
  tokenFileBytesMax,
  tokensMax,
  type TokenFileErrorCode,
} from './tokens.js';

// The lookup must compare digests through timingSafeEqual: spy on it, keeping its behaviour.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof crypto>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const testTimeoutMs = 5_000;
const alice = 'alice-secret-0123456789';
const bob = 'bob-secret-abcdefghijk';
const carol = 'carol-secret-ZYXWVUTSRQ';
const sha = (token: string): string => createHash('sha256').update(token).digest('hex');

function parseError(text: string): TokenFileError {
  try {
    parseTokenFile(text);
  } catch (e) {
    if (e instanceof TokenFileError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

describe('parseTokenFile', { timeout: testTimeoutMs }, () => {
  it('reads plain and sha256 lines with their roles and names', () => {
    const table = parseTokenFile(
      [`${alice} read alice`, `${bob} write`, `sha256:${sha(carol)} admin carol`].join('\n'),
    );
    expect(table.size).toBe(3);
    expect(table.lookup(alice)).toEqual({ name: 'alice', role: 'read' });
    expect(table.lookup(bob)).toEqual({ name: `token-${sha(bob).slice(0, 8)}`, role: 'write' });
    expect(table.lookup(carol)).toEqual({ name: 'carol', role: 'admin' });
    expect(table.names()).toEqual(new Set(['alice', `token-${sha(bob).slice(0, 8)}`, 'carol']));
  });

  it('takes the hex of a sha256 line in any case, and names it by its first 8 digits', () => {
    const hex = sha(carol).toUpperCase();
    const table = parseTokenFile(`SHA256:${hex} read`);
    expect(table.lookup(carol)).toEqual({
      name: `token-${hex.slice(0, 8).toLowerCase()}`,
      role: 'read',
    });
  });

  it('skips blank lines and comments, and takes tabs, CRLF and a byte-order mark', () => {
    const text = `\uFEFF# tokens\r\n\r\n   \r\n  # indented comment\r\n${alice}\tread\t alice\r\n`;
    const table = parseTokenFile(text);
    expect(table.size).toBe(1);
    expect(table.lookup(alice)).toEqual({ name: 'alice', role: 'read' });
  });

  it('lets tokens share a name with one role (rotation)', () => {
    const table = parseTokenFile(`${alice} write app\n${bob} write app`);
    expect(table.lookup(alice)).toEqual({ name: 'app', role: 'write' });
    expect(table.lookup(bob)).toEqual({ name: 'app', role: 'write' });
    expect(table.names()).toEqual(new Set(['app']));
  });

  it('accepts tokens of exactly 16 and 512 characters', () => {
    const short = 'a'.repeat(16);
    const long = `${'b'.repeat(tokenCharsMax - 1)}~`;
    const table = parseTokenFile(`${short} read\n${long} read`);
    expect(table.lookup(short)?.role).toBe('read');
    expect(table.lookup(long)?.role).toBe('read');
  });

  const refusals: [string, string, TokenFileErrorCode, number, string][] = [
    ['one field', `# c\n${alice}`, 'syntax', 2, 'expected "TOKEN ROLE [NAME]"'],
    ['four fields', `${alice} read a b`, 'syntax', 1, '(4 fields)'],
    ['a 15-character token', 'abcdefghijklmno read', 'weak-token', 1, 'shorter than 16'],
    ['a 513-character token', `${'x'.repeat(513)} read`, 'bad-token', 1, 'longer than 512'],
    ['a non-ASCII token', `${alice}\u00e9 read`, 'bad-token', 1, 'printable ASCII'],
    ['a control character', `${alice}\u0007 read`, 'bad-token', 1, 'printable ASCII'],
    ['63 hex digits', `sha256:${sha(alice).slice(1)} read`, 'bad-digest', 1, '64 hex digits'],
    ['a non-hex digest', `sha256:${'g'.repeat(64)} read`, 'bad-digest', 1, '64 hex digits'],
    ['a plain token after sha256:', `sha256:${alice} read`, 'bad-digest', 1, '64 hex digits'],
    ['an unknown role', `${alice} owner`, 'bad-role', 1, 'read, write or admin'],
    ['a role in capitals', `${alice} READ`, 'bad-role', 1, 'read, write or admin'],
    ['a name with a slash', `${alice} read a/b`, 'bad-name', 1, '1-64 letters'],
    ['a 65-character name', `${alice} read ${'n'.repeat(65)}`, 'bad-name', 1, '1-64 letters'],
    ['the name anonymous', `${alice} read anonymous`, 'bad-name', 1, 'reserved'],
    ['the name default', `${alice} read default`, 'bad-name', 1, 'reserved'],
    ['a token twice', `${alice} read a\n\n${alice} write b`, 'duplicate-token', 3, 'line 1'],
    [
      'a token and its sha256',
      `${alice} read\nsha256:${sha(alice)} read`,
      'duplicate-token',
      2,
      'line 1',
    ],
    ['a name with two roles', `${alice} read app\n${bob} write app`, 'name-conflict', 2, 'line 1'],
    ['no tokens', '# nothing yet\n\n', 'empty', 0, 'no tokens'],
  ];

  it.each(refusals)(
    'refuses %s, naming the line, never the token',
    (_what, text, code, line, words) => {
      const error = parseError(text);
      expect(error.code).toBe(code);
      expect(error.line).toBe(line);
      expect(error.message).toContain(words);
      if (line > 0) expect(error.message).toContain(`token file line ${line}:`);
      for (const secret of [alice, bob, 'abcdefghijklmno', 'x'.repeat(100), sha(alice).slice(1)])
        expect(error.message).not.toContain(secret);
    },
  );

  it(`refuses more than ${tokensMax} tokens`, () => {
    const lines = Array.from({ length: tokensMax + 1 }, (_, i) => `token-number-${i}-padding read`);
    const error = parseError(lines.join('\n'));
    expect(error.code).toBe('too-many');
    expect(error.line).toBe(tokensMax + 1);
  });

  it('refuses text larger than 8 MiB before parsing it', () => {
    const error = parseError(`${alice} read\n${'#'.repeat(tokenFileBytesMax)}`);
    expect(error).toMatchObject({ code: 'too-large', line: 0 });
  });

  it('prefixes errors with the source it is given', () => {
    expect(() => parseTokenFile(`${alice} owner`, '--auth-token-file /etc/t')).toThrow(
      '--auth-token-file /etc/t line 1: the role must be read, write or admin',
    );
  });
});

describe('TokenTable.lookup', { timeout: testTimeoutMs }, () => {
  const table = parseTokenFile(`${alice} read alice\nsha256:${sha(bob)} write bob`);

  beforeEach(() => {
    vi.mocked(timingSafeEqual).mockClear();
  });

  it('compares whole digests with timingSafeEqual on a hit', () => {
    expect(table.lookup(bob)).toEqual({ name: 'bob', role: 'write' });
    const calls = vi.mocked(timingSafeEqual).mock.calls;
    expect(calls.length).toBeGreaterThanOrEqual(1);
    for (const [a, b] of calls) {
      expect(a.byteLength).toBe(32);
      expect(b.byteLength).toBe(32);
    }
  });

  it('misses on a token one character off, a prefix, or an empty or oversized one', () => {
    expect(table.lookup(`${alice.slice(0, -1)}X`)).toBeUndefined();
    expect(table.lookup(alice.slice(0, -1))).toBeUndefined();
    expect(table.lookup(`${alice} `)).toBeUndefined();
    expect(table.lookup('')).toBeUndefined();
    expect(table.lookup('y'.repeat(tokenCharsMax + 1))).toBeUndefined();
    // Nothing else shares a digest's first 8 bytes, so no comparison ran for these misses.
    expect(vi.mocked(timingSafeEqual)).not.toHaveBeenCalled();
  });

  it('does not hold the plain tokens in memory, only their digests', () => {
    const shown = inspect(table, { depth: 10, showHidden: true, maxArrayLength: null });
    expect(shown).not.toContain(alice);
    expect(tokenDigestHex(alice)).toBe(sha(alice));
  });
});

describe('bearerOf', { timeout: testTimeoutMs }, () => {
  it.each([
    ['Bearer abc.DEF-123', 'abc.DEF-123'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['bEaReR a=b/c+d', 'a=b/c+d'],
  ])('takes the token of %j', (value, token) => {
    expect(bearerOf(value)).toBe(token);
  });

  it.each([
    [undefined],
    [''],
    ['Bearer'],
    ['Bearer '],
    ['Bearer  abc'],
    ['Bearer abc def'],
    ['Bearer abc '],
    [' Bearer abc'],
    ['Bearer\tabc'],
    ['Bearerabc'],
    ['Basic YWxhZGRpbjpvcGVuc2VzYW1l'],
    ['Bearer ab\u00e9'],
    [`Bearer ${'z'.repeat(tokenCharsMax + 1)}`],
  ])('gives nothing for %j', (value) => {
    expect(bearerOf(value)).toBeUndefined();
  });
});

describe('loadTokenFile', { timeout: testTimeoutMs }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-tokens-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string, mode: number): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  }

  it('loads a private file without warnings', () => {
    const path = write('private', `${alice} admin ops\n`, 0o600);
    const { table, warnings } = loadTokenFile(path);
    expect(table.lookup(alice)).toEqual({ name: 'ops', role: 'admin' });
    expect(warnings).toEqual([]);
  });

  it.skipIf(process.platform === 'win32')('warns when group or others have access', () => {
    const path = write('shared', `${alice} admin ops\n`, 0o640);
    const { table, warnings } = loadTokenFile(path);
    expect(table.size).toBe(1);
    expect(warnings).toEqual([
      `--auth-token-file ${path}: group or others have access (mode 0640); chmod 600 it`,
    ]);
  });

  it('names the flag, the path and the line of a bad entry', () => {
    const path = write('bad', `# ok\n${alice} superuser\n`, 0o600);
    expect(() => loadTokenFile(path)).toThrow(
      `--auth-token-file ${path} line 2: the role must be read, write or admin`,
    );
  });

  it('refuses a missing file and a directory as unreadable', () => {
    const missing = join(dir, 'missing');
    expect(() => loadTokenFile(missing)).toThrow(
      `--auth-token-file ${missing}: cannot open it (ENOENT)`,
    );
    const error = (() => {
      try {
        loadTokenFile(dir);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TokenFileError);
    expect((error as TokenFileError).code).toBe('unreadable');
    expect((error as TokenFileError).line).toBe(0);
  });
});
