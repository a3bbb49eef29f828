import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  Applied,
  ClusterClient,
  type GetResponse,
  type Change,
  type ClearChangesResponse,
  type ClusterStatus,
  type CommitPlanResponse,
  type MoveClaimantRequest,
  type MoveClaimantResponse,
  type StageChangeRequest,
  type StageChangeResponse,
  type ListTransfersResponse,
  type Plan,
  type Ring,
} from '@ringstore/proto';

import type { TestCluster } from './cluster-fixture.js';
import { eventually } from './eventually.js';
import { listMembers, siblingValues, statusOf } from './kv-client.js';

const deadlineMs = 10_000;

/** Calls one Cluster RPC on `address` with a deadline, on a channel closed afterwards. */
function call<Req, Res>(
  address: string,
  fn: (
    c: ClusterClient,
    req: Req,
    md: Metadata,
    o: { deadline: Date },
    cb: (e: ServiceError | null, r: Res) => void,
  ) => void,
  req: Req,
): Promise<Res> {
  const client = new ClusterClient(address, credentials.createInsecure());
  return new Promise<Res>((resolve, reject) =>
    fn(client, req, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (e, r) =>
      e ? reject(e) : resolve(r),
    ),
  ).finally(() => client.close());
}

/** Where a new node listens: its client port and its peer port (a ClusterNode is one). */
export interface NodePorts {
  readonly address: string;
  readonly peerAddress: string;
}

export const joinChange = (id: string, at: NodePorts, zone = ''): Change => ({
  kind: { $case: 'join', value: { id, address: at.address, peerAddress: at.peerAddress, zone } },
});
export const leaveChange = (id: string): Change => ({ kind: { $case: 'leave', value: { id } } });
export const removeChange = (id: string): Change => ({ kind: { $case: 'remove', value: { id } } });
export const replaceChange = (old: string, id: string, at: NodePorts, dead: boolean): Change => ({
  kind: {
    $case: 'replace',
    value: { old, id, address: at.address, peerAddress: at.peerAddress, zone: '', dead },
  },
});

export const membership = {
  stage: (address: string, change: Change): Promise<Change[]> =>
    call<StageChangeRequest, StageChangeResponse>(
      address,
      (c, r, m, o, cb) => c.stageChange(r, m, o, cb),
      { change },
    ).then((r) => r.staged),
  plan: (address: string): Promise<Plan> =>
    call(address, (c, r, m, o, cb) => c.planChanges(r, m, o, cb), {}),
  commit: (address: string): Promise<Ring | undefined> =>
    call<object, CommitPlanResponse>(
      address,
      (c, r, m, o, cb) => c.commitPlan(r, m, o, cb),
      {},
    ).then((r) => r.ring),
  clear: (address: string): Promise<number> =>
    call<object, ClearChangesResponse>(
      address,
      (c, r, m, o, cb) => c.clearChanges(r, m, o, cb),
      {},
    ).then((r) => r.cleared),
  status: (address: string): Promise<ClusterStatus> =>
    call(address, (c, r, m, o, cb) => c.getClusterStatus(r, m, o, cb), {}),
  transfers: (address: string): Promise<ListTransfersResponse> =>
    call(address, (c, r, m, o, cb) => c.listTransfers(r, m, o, cb), {}),
};

/** Every node of `ids` has applied the same ring version and no transition runs; that version. */
export async function settled(tc: TestCluster, ids: readonly string[]): Promise<bigint> {
  return eventually(
    async () => {
      const rings = await Promise.all(ids.map((id) => tc.client(id).ring()));
      const versions = new Set(rings.map((r) => r.version));
      if (versions.size !== 1) throw new Error(`versions differ: ${[...versions].join(',')}`);
      if (rings.some((r) => r.transfers.length > 0)) throw new Error('a transition still runs');
      return rings[0]!.version;
    },
    90_000,
    200,
  );
}

/** Reads each key at R=`r` through `via`; the keys whose value is not exactly the expected one. */
export async function wrongValues(
  tc: TestCluster,
  via: string,
  expected: ReadonlyMap<string, string>,
  r = 3,
): Promise<string[]> {
  const wrong: string[] = [];
  for (const [key, value] of expected) {
    const values = siblingValues(await getUnlessRefused(tc, via, key, r));
    if (values.length !== 1 || values[0] !== value) wrong.push(`${key}: ${values.join('|')}`);
  }
  return wrong;
}

/**
 * A get at R, repeated (at most 5 times, each printed) only when the node refused it before
 * reading anything because its failure detector counted fewer than R replicas up: on two loaded
 * cores a live node's heartbeat can be late enough for that, and the SDK repeats such a refusal
 * too. Any other failure, or a wrong answer, is the test's news.
 */
export async function getUnlessRefused(
  tc: TestCluster,
  via: string,
  key: string,
  r: number,
): Promise<GetResponse> {
  for (let attempt = 1; ; attempt++) {
    const attemptMade = tc.client(via).get(key, { r });
    const outcome = await statusOf(attemptMade);
    if (outcome.code === -1) return attemptMade;
    const refusedUnread =
      outcome.code === Number(status.UNAVAILABLE) &&
      outcome.failure?.applied === Applied.APPLIED_NONE &&
      /only \d+ replicas? available/.test(outcome.details);
    if (!refusedUnread || attempt >= 5)
      throw new Error(`get ${key} via ${via}: ${outcome.code} ${outcome.details}`);
    console.log(`get ${key} via ${via} refused before reading (${outcome.details}); repeating`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Every node of `ids` sees every other one alive in gossip: their peer channels are connected. A
 * node started alongside the others may have dialled a peer before it listened and be in the
 * channel's reconnect backoff, where a W=N write fails at once (may have applied, not repeated).
 */
export async function converged(tc: TestCluster, ids: readonly string[]): Promise<void> {
  await eventually(
    async () => {
      for (const id of ids) {
        const members = await listMembers(tc.address(id));
        const down = ids.filter(
          (o) => o !== id && !members.some((m) => m.node?.id === o && m.alive),
        );
        if (down.length > 0) throw new Error(`${id} does not see ${down.join(',')} alive`);
      }
    },
    30_000,
    100,
  );
}

/** Plans and commits what is staged at the claimant `via`. */
export async function planAndCommit(address: string): Promise<Plan> {
  const p = await membership.plan(address);
  await membership.commit(address);
  return p;
}

/** Cluster.MoveClaimant: hand over (at the claimant) or force a take-over (at `to`). */
export function moveClaimant(address: string, to: string, force: boolean): Promise<unknown> {
  return call<MoveClaimantRequest, MoveClaimantResponse>(
    address,
    (c, r, m, o, cb) => c.moveClaimant(r, m, o, cb),
    { to, force },
  );
}
