import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RingstoreError } from '../errors.js';
import { ClientGuard, requestBytes, type GuardOptions, type RefusalKind } from './guard.js';
import { parseRateLimits } from './rate-limit.js';

const dir = mkdtempSync(join(tmpdir(), 'ringstore-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const admin = 'admin-token-0123456789';
const reader = 'reader-token-0123456789';
const log = pino({ level: 'silent' });
const put = '/ringstore.v1.KV/Put';
const get = '/ringstore.v1.KV/Get';
const farMs = Date.now() + 60_000;

function md(token?: string): Metadata {
  const m = new Metadata();
  if (token !== undefined) m.set('authorization', `Bearer ${token}`);
  return m;
}

function guardOf(options: Partial<GuardOptions> = {}, refusals: RefusalKind[] = []): ClientGuard {
  return new ClientGuard({
    authTokenFile: '',
    rateLimits: parseRateLimits([]),
    admission: { requestsMax: 1024, bytesMax: 64 * 1024 * 1024 },
    log,
    onRefused: (kind) => refusals.push(kind),
    ...options,
  });
}

function refusal(fn: () => unknown): RingstoreError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RingstoreError);
    return e as RingstoreError;
  }
  throw new Error('expected a refusal');
}

function tokenFile(text: string): string {
  const file = join(dir, `tokens-${Math.random().toString(16).slice(2)}`);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

describe('ClientGuard', () => {
  it('lets everything in without a token file', () => {
    const admitted = guardOf().admit(put, md(), 10, farMs);
    expect(admitted.principal).toBeUndefined();
    admitted.leave();
  });

  it('refuses a missing or unknown token (UNAUTHENTICATED) and a role too low (PERMISSION_DENIED), applied none', () => {
    const refusals: RefusalKind[] = [];
    const guard = guardOf(
      { authTokenFile: tokenFile(`${admin} admin ops\n${reader} read dash\n`) },
      refusals,
    );
    const none = refusal(() => guard.admit(get, md(), 0, farMs));
    expect(none.code).toBe('unauthenticated');
    expect(none.failure.applied).toBe('none');
    expect(refusal(() => guard.admit(get, md('unknown-token-0123456789'), 0, farMs)).code).toBe(
      'unauthenticated',
    );
    const low = refusal(() => guard.admit(put, md(reader), 0, farMs));
    expect(low.code).toBe('permission-denied');
    expect(low.message).not.toContain(reader);
    expect(guard.admit(get, md(reader), 0, farMs).principal?.name).toBe('dash');
    expect(guard.admit(put, md(admin), 0, farMs).principal?.role).toBe('admin');
    expect(refusals).toEqual(['unauthenticated', 'unauthenticated', 'permission_denied']);
  });

  it('re-reads the token file on reload, and keeps the old tokens when the new file is broken', () => {
    const file = tokenFile(`${admin} admin ops\n`);
    const guard = guardOf({ authTokenFile: file });
    expect(refusal(() => guard.admit(get, md(reader), 0, farMs)).code).toBe('unauthenticated');
    writeFileSync(file, `${admin} admin ops\n${reader} read dash\n`);
    guard.reload();
    expect(guard.admit(get, md(reader), 0, farMs).principal?.name).toBe('dash');
    writeFileSync(file, 'short read\n');
    guard.reload();
    expect(guard.admit(get, md(reader), 0, farMs).principal?.name).toBe('dash');
  });

  it('drops a request whose deadline has passed, unstarted', () => {
    const e = refusal(() => guardOf().admit(get, md(), 0, Date.now() - 1));
    expect(e.code).toBe('deadline-exceeded');
    expect(e.failure.applied).toBe('none');
  });

  it('refuses over the rate limit with RESOURCE_EXHAUSTED and the rate-limit trailers', () => {
    const guard = guardOf({
      authTokenFile: tokenFile(`${admin} admin ops\n`),
      rateLimits: parseRateLimits(['ops=1:2']),
    });
    guard.admit(get, md(admin), 0, farMs).leave();
    guard.admit(get, md(admin), 0, farMs).leave();
    const e = refusal(() => guard.admit(get, md(admin), 0, farMs));
    expect(e.code).toBe('resource-exhausted');
    expect(e.failure.applied).toBe('none');
    const trailers = new Map(e.trailers);
    expect(trailers.get('x-ratelimit-limit')).toBe('2');
    expect(trailers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(trailers.get('retry-after-ms'))).toBeGreaterThan(0);
  });

  it('refuses beyond the requests in progress, and admits again once one leaves', () => {
    const guard = guardOf({ admission: { requestsMax: 2, bytesMax: 64 * 1024 * 1024 } });
    const first = guard.admit(put, md(), 10, farMs);
    guard.admit(put, md(), 10, farMs);
    const e = refusal(() => guard.admit(put, md(), 10, farMs));
    expect(e.code).toBe('resource-exhausted');
    expect(Number(new Map(e.trailers).get('retry-after-ms'))).toBeGreaterThanOrEqual(10);
    first.leave();
    first.leave(); // idempotent: frees one place, not two
    guard.admit(put, md(), 10, farMs);
    expect(refusal(() => guard.admit(put, md(), 10, farMs)).code).toBe('resource-exhausted');
  });

  it('counts a request by its byte and string fields', () => {
    expect(
      requestBytes({ key: Buffer.alloc(10), value: new Uint8Array(100), w: 2, note: 'abc' }),
    ).toBe(113);
    expect(requestBytes(undefined)).toBe(0);
    // A batch: its items' fields count, however they nest.
    const batch = {
      items: [
        { write: { $case: 'put', value: { key: Buffer.alloc(5), value: Buffer.alloc(50) } } },
        { write: { $case: 'delete', value: { key: Buffer.alloc(7), context: Buffer.alloc(8) } } },
      ],
    };
    expect(requestBytes(batch)).toBe(5 + 50 + 7 + 8 + 'put'.length + 'delete'.length);
  });
});
