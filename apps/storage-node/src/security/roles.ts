import { bearerOf, type Principal, type Role, type TokenTable } from './tokens.js';

export type { Principal, Role } from './tokens.js';

/**
 * Authorization by gRPC method path. Roles are ordered read < write < admin; each method needs
 * one of them, or none at all (health checks and reflection, which carry no data). A method this
 * table does not know needs admin: a new RPC is closed until someone decides who may call it.
 */
export type RoleNeeded = 'none' | Role;

const roleRank: Readonly<Record<Role, number>> = { read: 0, write: 1, admin: 2 };

/** Whether a caller with role `have` may call a method that needs `need`. */
export function allows(have: Role, need: Role): boolean {
  return roleRank[have] >= roleRank[need];
}

/** Every method of the public services (kv.proto, cluster.proto) with the role it needs. */
export const methodRoles: ReadonlyMap<string, Role> = new Map<string, Role>([
  ['/ringstore.v1.KV/Get', 'read'],
  ['/ringstore.v1.KV/Put', 'write'],
  ['/ringstore.v1.KV/Delete', 'write'],
  ['/ringstore.v1.KV/BatchGet', 'read'],
  ['/ringstore.v1.KV/BatchPut', 'write'],
  // The ring and the members: what a zero-hop client needs to route, so any reader may see them.
  ['/ringstore.v1.Cluster/GetRing', 'read'],
  ['/ringstore.v1.Cluster/ListMembers', 'read'],
  // Operator calls: they change the cluster, start work, or show its internals.
  ['/ringstore.v1.Cluster/GetAntiEntropy', 'admin'],
  ['/ringstore.v1.Cluster/TriggerAntiEntropy', 'admin'],
  ['/ringstore.v1.Cluster/GetNodeStats', 'admin'],
  ['/ringstore.v1.Cluster/StageChange', 'admin'],
  ['/ringstore.v1.Cluster/PlanChanges', 'admin'],
  ['/ringstore.v1.Cluster/CommitPlan', 'admin'],
  ['/ringstore.v1.Cluster/ClearChanges', 'admin'],
  ['/ringstore.v1.Cluster/GetClusterStatus', 'admin'],
  ['/ringstore.v1.Cluster/ListTransfers', 'admin'],
  ['/ringstore.v1.Cluster/SetTransferLimits', 'admin'],
  ['/ringstore.v1.Cluster/MoveClaimant', 'admin'],
  ['/ringstore.v1.Cluster/CancelTransition', 'admin'],
  ['/ringstore.v1.Cluster/Backup', 'admin'],
  ['/ringstore.v1.Cluster/InspectKey', 'admin'],
]);

/**
 * Streams whose calls are checked one by one, each against its own method's entry above (a
 * KV.Session get needs read, a put write), with the stream's credentials: opening one needs no
 * role, as it reads and writes nothing by itself (session.ts).
 */
export const checkedPerCall: ReadonlySet<string> = new Set(['/ringstore.v1.KV/Session']);

/**
 * The web console's JSON API on the admin HTTP port (console/http.ts): not a gRPC method, so it is
 * in no table above and needs admin, as every method the table does not know.
 */
export const consoleApiPath = '/ringstore.console/Api';

/** Services anyone may call: health checks (load balancers carry no token) and reflection. */
export const openServices: ReadonlySet<string> = new Set([
  'grpc.health.v1.Health',
  'grpc.reflection.v1alpha.ServerReflection',
  'grpc.reflection.v1.ServerReflection',
]);

/** `/package.Service/Method`, as gRPC sends it. */
const pathPattern = /^\/([A-Za-z0-9_.]{1,200})\/[A-Za-z0-9_]{1,200}$/;

/** The role a method needs: its entry, none for the open services, admin for anything else. */
export function requiredRole(path: string): RoleNeeded {
  const known = methodRoles.get(path);
  if (known !== undefined) return known;
  const service = pathPattern.exec(path)?.[1];
  return service !== undefined && openServices.has(service) ? 'none' : 'admin';
}

export type Authorization =
  | { readonly ok: true; readonly principal?: Principal }
  | {
      readonly ok: false;
      readonly code: 'unauthenticated' | 'permission-denied';
      readonly message: string;
    };

/**
 * The `authorization` metadata of a call: one string (a header value), or every value given, as
 * grpc-js `metadata.get('authorization')` returns them.
 */
export type AuthorizationHeader = string | readonly (string | Uint8Array)[] | undefined;

/**
 * Whether a call may go on. Without a table (authentication off) everything may. Messages never
 * hold a token or request data: a method path only when it is well-formed.
 */
export function authorize(
  table: TokenTable | undefined,
  path: string,
  authorization: AuthorizationHeader,
): Authorization {
  if (table === undefined) return { ok: true };
  const need = requiredRole(path);
  if (need === 'none') return { ok: true };
  const values = headerValues(authorization);
  if (values.length > 1) return unauthenticated('more than one authorization header');
  const [header] = values;
  if (header === undefined) return unauthenticated('missing bearer token');
  // A binary value is no bearer token: an `authorization` entry is text.
  const bearer = typeof header === 'string' ? bearerOf(header) : undefined;
  if (bearer === undefined)
    return unauthenticated('malformed authorization header (expected "Bearer TOKEN")');
  const principal = table.lookup(bearer);
  if (principal === undefined) return unauthenticated('unknown token');
  if (!allows(principal.role, need))
    return {
      ok: false,
      code: 'permission-denied',
      message:
        `token ${principal.name} has role ${principal.role}; ` + `${shownPath(path)} needs ${need}`,
    };
  return { ok: true, principal };
}

function unauthenticated(message: string): Authorization {
  return { ok: false, code: 'unauthenticated', message };
}

function headerValues(authorization: AuthorizationHeader): readonly (string | Uint8Array)[] {
  if (authorization === undefined) return [];
  return typeof authorization === 'string' ? [authorization] : authorization;
}

function shownPath(path: string): string {
  return pathPattern.test(path) ? path : 'this method';
}
