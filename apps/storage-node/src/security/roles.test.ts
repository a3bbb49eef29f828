import { ClusterService, KVService } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import {
  allows,
  authorize,
  methodRoles,
  requiredRole,
  type Role,
  type RoleNeeded,
  checkedPerCall,
} from './roles.js';
import { parseTokenFile } from './tokens.js';

const testTimeoutMs = 5_000;

/** The decision for every method of kv.proto and cluster.proto, written out. */
const expected: Record<string, Role> = {
  '/ringstore.v1.KV/Get': 'read',
  '/ringstore.v1.KV/Put': 'write',
  '/ringstore.v1.KV/Delete': 'write',
  '/ringstore.v1.KV/BatchGet': 'read',
  '/ringstore.v1.KV/BatchPut': 'write',
  '/ringstore.v1.Cluster/GetRing': 'read',
  '/ringstore.v1.Cluster/ListMembers': 'read',
  '/ringstore.v1.Cluster/GetAntiEntropy': 'admin',
  '/ringstore.v1.Cluster/TriggerAntiEntropy': 'admin',
  '/ringstore.v1.Cluster/GetNodeStats': 'admin',
  '/ringstore.v1.Cluster/StageChange': 'admin',
  '/ringstore.v1.Cluster/PlanChanges': 'admin',
  '/ringstore.v1.Cluster/CommitPlan': 'admin',
  '/ringstore.v1.Cluster/ClearChanges': 'admin',
  '/ringstore.v1.Cluster/GetClusterStatus': 'admin',
  '/ringstore.v1.Cluster/ListTransfers': 'admin',
  '/ringstore.v1.Cluster/SetTransferLimits': 'admin',
  '/ringstore.v1.Cluster/MoveClaimant': 'admin',
  '/ringstore.v1.Cluster/CancelTransition': 'admin',
  '/ringstore.v1.Cluster/Backup': 'admin',
  '/ringstore.v1.Cluster/InspectKey': 'admin',
};

const servedPaths = [...Object.values(KVService), ...Object.values(ClusterService)].map(
  (method) => method.path,
);

const tokens = {
  read: 'reader-token-0123456789',
  write: 'writer-token-0123456789',
  admin: 'admin-token-01234567890',
} as const;
const table = parseTokenFile(
  `${tokens.read} read reader\n${tokens.write} write writer\n${tokens.admin} admin ops`,
);
const roleList: Role[] = ['read', 'write', 'admin'];

describe('requiredRole', { timeout: testTimeoutMs }, () => {
  it('has an entry for every method the generated services define, and no other', () => {
    expect(new Set(servedPaths)).toEqual(new Set([...methodRoles.keys(), ...checkedPerCall]));
    expect(new Set(servedPaths)).toEqual(new Set([...Object.keys(expected), ...checkedPerCall]));
  });

  it.each(Object.entries(expected))('%s needs %s', (path, role) => {
    expect(requiredRole(path)).toBe(role);
  });

  it.each<[string, RoleNeeded]>([
    ['/grpc.health.v1.Health/Check', 'none'],
    ['/grpc.health.v1.Health/Watch', 'none'],
    ['/grpc.health.v1.Health/List', 'none'],
    ['/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', 'none'],
    ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', 'none'],
    // Closed until mapped: a new KV or Cluster method, the peer service, anything else.
    ['/ringstore.v1.KV/Scan', 'admin'],
    ['/ringstore.v1.KV/get', 'admin'],
    ['/ringstore.v1.Cluster/DropEverything', 'admin'],
    ['/ringstore.v1.Peer/Gossip', 'admin'],
    ['/ringstore.v1.Peer/Link', 'admin'],
    ['/grpc.health.v1.Health/', 'admin'],
    ['/grpc.health.v1.Health', 'admin'],
    ['/grpc.health.v1.HealthX/Check', 'admin'],
    ['grpc.health.v1.Health/Check', 'admin'],
    ['/grpc.health.v1.Health/Check/x', 'admin'],
    ['', 'admin'],
  ])('%j needs %s', (path, need) => {
    expect(requiredRole(path)).toBe(need);
  });
});

describe('allows', { timeout: testTimeoutMs }, () => {
  it.each<[Role, Role, boolean]>([
    ['read', 'read', true],
    ['read', 'write', false],
    ['read', 'admin', false],
    ['write', 'read', true],
    ['write', 'write', true],
    ['write', 'admin', false],
    ['admin', 'read', true],
    ['admin', 'write', true],
    ['admin', 'admin', true],
  ])('%s may call what needs %s: %s', (have, need, result) => {
    expect(allows(have, need)).toBe(result);
  });
});

describe('authorize', { timeout: testTimeoutMs }, () => {
  const matrix = Object.entries(expected).flatMap(([path, need]) =>
    roleList.map((have) => [path, have, allows(have, need)] as const),
  );

  it.each(matrix)('%s with a %s token: allowed %s', (path, have, ok) => {
    const decision = authorize(table, path, `Bearer ${tokens[have]}`);
    expect(decision.ok).toBe(ok);
    if (decision.ok) expect(decision.principal?.role).toBe(have);
    else expect(decision).toMatchObject({ code: 'permission-denied' });
  });

  it('says who has which role and what the method needs', () => {
    expect(authorize(table, '/ringstore.v1.KV/Put', `Bearer ${tokens.read}`)).toEqual({
      ok: false,
      code: 'permission-denied',
      message: 'token reader has role read; /ringstore.v1.KV/Put needs write',
    });
    expect(authorize(table, '/ringstore.v1.Cluster/CommitPlan', `bearer ${tokens.write}`)).toEqual({
      ok: false,
      code: 'permission-denied',
      message: 'token writer has role write; /ringstore.v1.Cluster/CommitPlan needs admin',
    });
  });

  it('gives the principal of an allowed call', () => {
    expect(authorize(table, '/ringstore.v1.KV/Get', `Bearer ${tokens.write}`)).toEqual({
      ok: true,
      principal: { name: 'writer', role: 'write' },
    });
  });

  it.each<[string, string | readonly (string | Uint8Array)[] | undefined, string]>([
    ['no header', undefined, 'missing bearer token'],
    ['no values', [], 'missing bearer token'],
    ['a Basic header', 'Basic cmVhZGVyOnB3', 'malformed authorization header'],
    ['two spaces', `Bearer  ${tokens.admin}`, 'malformed authorization header'],
    ['a binary value', [Buffer.from(`Bearer ${tokens.admin}`)], 'malformed authorization header'],
    ['two values', [`Bearer ${tokens.admin}`, `Bearer ${tokens.admin}`], 'more than one'],
    ['an unknown token', 'Bearer not-a-token-we-know-of', 'unknown token'],
  ])('refuses %s as unauthenticated, echoing nothing', (_what, header, words) => {
    const decision = authorize(table, '/ringstore.v1.KV/Get', header);
    expect(decision.ok).toBe(false);
    if (decision.ok) return;
    expect(decision.code).toBe('unauthenticated');
    expect(decision.message).toContain(words);
    for (const secret of [...Object.values(tokens), 'not-a-token-we-know-of', 'cmVhZGVy'])
      expect(decision.message).not.toContain(secret);
  });

  it('takes the single value of a metadata array', () => {
    expect(authorize(table, '/ringstore.v1.KV/Put', [`Bearer ${tokens.write}`])).toEqual({
      ok: true,
      principal: { name: 'writer', role: 'write' },
    });
  });

  it('lets health checks and reflection through without a token, or with a bad one', () => {
    expect(authorize(table, '/grpc.health.v1.Health/Check', undefined)).toEqual({ ok: true });
    expect(
      authorize(table, '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', 'Bearer nope'),
    ).toEqual({ ok: true });
  });

  it('needs admin for an unknown method, and never echoes a malformed path', () => {
    expect(authorize(table, '/ringstore.v1.KV/Scan', `Bearer ${tokens.write}`)).toMatchObject({
      ok: false,
      message: 'token writer has role write; /ringstore.v1.KV/Scan needs admin',
    });
    expect(authorize(table, '/x/<script>', `Bearer ${tokens.read}`)).toMatchObject({
      ok: false,
      message: 'token reader has role read; this method needs admin',
    });
    expect(authorize(table, '/ringstore.v1.KV/Scan', `Bearer ${tokens.admin}`).ok).toBe(true);
  });

  it('allows everything without a table (authentication off)', () => {
    for (const path of [...servedPaths, '/ringstore.v1.Peer/Gossip', ''])
      expect(authorize(undefined, path, undefined)).toEqual({ ok: true });
  });
});
