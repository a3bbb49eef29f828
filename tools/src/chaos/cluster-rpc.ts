// The Cluster RPCs the membership nemesis and the final ring check use, each with a deadline, on a
// channel closed after the call. Errors are the gRPC ServiceError, code and details included.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
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

function call<Req, Res>(address: string, method: Method<Req, Res>, req: Req): Promise<Res> {
  const client = new ClusterClient(address, credentials.createInsecure());
  return new Promise<Res>((resolve, reject) =>
    method(
      client,
      req,
      new Metadata(),
      { deadline: new Date(Date.now() + clusterRpcDeadlineMs) },
      (e, r) => (e === null ? resolve(r) : reject(e)),
    ),
  ).finally(() => client.close());
}

export const clusterRpc = {
  ring: (address: string): Promise<Ring> =>
    call(address, (c, r, m, o, cb: Callback<Ring>) => c.getRing(r, m, o, cb), {}),
  members: (address: string): Promise<readonly Member[]> =>
    call(
      address,
      (c, r, m, o, cb: Callback<ListMembersResponse>) => c.listMembers(r, m, o, cb),
      {},
    ).then((r) => r.members),
  stage: (address: string, change: Change): Promise<unknown> =>
    call(address, (c, r, m, o, cb) => c.stageChange(r, m, o, cb), { change }),
  plan: (address: string): Promise<Plan> =>
    call(address, (c, r, m, o, cb: Callback<Plan>) => c.planChanges(r, m, o, cb), {}),
  commit: (address: string): Promise<Ring | undefined> =>
    call(
      address,
      (c, r, m, o, cb: Callback<CommitPlanResponse>) => c.commitPlan(r, m, o, cb),
      {},
    ).then((r) => r.ring),
  clear: (address: string): Promise<unknown> =>
    call(address, (c, r, m, o, cb) => c.clearChanges(r, m, o, cb), {}),
  transfers: (address: string): Promise<ListTransfersResponse> =>
    call(address, (c, r, m, o, cb) => c.listTransfers(r, m, o, cb), {}),
  /** Hands the claimant role to `to` (at the claimant); the ring it wrote. */
  moveClaimant: (address: string, to: string): Promise<Ring | undefined> =>
    call(address, (c, r, m, o, cb: Callback<MoveClaimantResponse>) => c.moveClaimant(r, m, o, cb), {
      to,
      force: false,
    }).then((r) => r.ring),
};

/** The staged form of a join, leave or replace. */
export const changes = {
  join: (id: string, address: string): Change => ({
    kind: { $case: 'join', value: { id, address, zone: '' } },
  }),
  leave: (id: string): Change => ({ kind: { $case: 'leave', value: { id } } }),
  replace: (old: string, id: string, address: string, dead: boolean): Change => ({
    kind: { $case: 'replace', value: { old, id, address, zone: '', dead } },
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
