// The Cluster RPCs the membership nemesis, the final ring check and bench:spread use, each with a
// deadline, on a channel closed after the call, as the harness reaches the nodes (plaintext, or TLS
// with its client certificate and the admin token). Errors are the gRPC ServiceError, code and
// details included.
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import {
  ClusterClient,
  type Change,
  type CommitPlanResponse,
  type ListMembersResponse,
  type ListTransfersResponse,
  type MoveClaimantResponse,
  type Member,
  type Plan,
  type Ring,
} from '@ringstore/proto';
import type { NodeAccess } from './access.js';

/** Deadline of each call: a commit writes and pushes a ring version, well within it. */
export const clusterRpcDeadlineMs = 5_000;

type Callback<Res> = (e: ServiceError | null, r: Res) => void;
type Method<Req, Res> = (
  c: ClusterClient,
  req: Req,
  md: Metadata,
  o: { deadline: Date },
  cb: Callback<Res>,
) => void;

function call<Req, Res>(
  access: NodeAccess,
  address: string,
  method: Method<Req, Res>,
  req: Req,
): Promise<Res> {
  const client = new ClusterClient(address, access.credentials);
  return new Promise<Res>((resolve, reject) =>
    method(
      client,
      req,
      access.metadata(),
      { deadline: new Date(Date.now() + clusterRpcDeadlineMs) },
      (e, r) => (e === null ? resolve(r) : reject(e)),
    ),
  ).finally(() => client.close());
}

/** The Cluster RPCs, each at a node's client address. */
export interface ClusterRpc {
  ring(address: string): Promise<Ring>;
  members(address: string): Promise<readonly Member[]>;
  stage(address: string, change: Change): Promise<unknown>;
  plan(address: string): Promise<Plan>;
  commit(address: string): Promise<Ring | undefined>;
  clear(address: string): Promise<unknown>;
  transfers(address: string): Promise<ListTransfersResponse>;
  /** Hands the claimant role to `to` (at the claimant); the ring it wrote. */
  moveClaimant(address: string, to: string): Promise<Ring | undefined>;
}

/** The Cluster RPCs as `access` reaches the nodes. */
export function clusterRpc(access: NodeAccess): ClusterRpc {
  return {
    ring: (address) =>
      call(access, address, (c, r, m, o, cb: Callback<Ring>) => c.getRing(r, m, o, cb), {}),
    members: (address) =>
      call(
        access,
        address,
        (c, r, m, o, cb: Callback<ListMembersResponse>) => c.listMembers(r, m, o, cb),
        {},
      ).then((r) => r.members),
    stage: (address, change) =>
      call(access, address, (c, r, m, o, cb) => c.stageChange(r, m, o, cb), { change }),
    plan: (address) =>
      call(access, address, (c, r, m, o, cb: Callback<Plan>) => c.planChanges(r, m, o, cb), {}),
    commit: (address) =>
      call(
        access,
        address,
        (c, r, m, o, cb: Callback<CommitPlanResponse>) => c.commitPlan(r, m, o, cb),
        {},
      ).then((r) => r.ring),
    clear: (address) => call(access, address, (c, r, m, o, cb) => c.clearChanges(r, m, o, cb), {}),
    transfers: (address) =>
      call(access, address, (c, r, m, o, cb) => c.listTransfers(r, m, o, cb), {}),
    moveClaimant: (address, to) =>
      call(
        access,
        address,
        (c, r, m, o, cb: Callback<MoveClaimantResponse>) => c.moveClaimant(r, m, o, cb),
        { to, force: false },
      ).then((r) => r.ring),
  };
}

/** The staged form of a join, leave or replace. */
export const changes = {
  join: (id: string, address: string, peerAddress: string): Change => ({
    kind: { $case: 'join', value: { id, address, peerAddress, zone: '' } },
  }),
  leave: (id: string): Change => ({ kind: { $case: 'leave', value: { id } } }),
  replace: (
    old: string,
    id: string,
    address: string,
    peerAddress: string,
    dead: boolean,
  ): Change => ({
    kind: { $case: 'replace', value: { old, id, address, peerAddress, zone: '', dead } },
  }),
};

/** The gRPC details of an error (its message otherwise). */
export function detailsOf(e: unknown): string {
  const err = e as Partial<ServiceError>;
  return typeof err.details === 'string' && err.details !== ''
    ? err.details
    : e instanceof Error
      ? e.message
      : String(e);
}
