import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  ClusterClient,
  type Change,
  type ClearChangesResponse,
  type ClusterStatus,
  type CommitPlanResponse,
  type StageChangeRequest,
  type StageChangeResponse,
  type ListTransfersResponse,
  type Plan,
  type Ring,
} from '@ringstore/proto';

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

export const joinChange = (id: string, address: string, zone = ''): Change => ({
  kind: { $case: 'join', value: { id, address, zone } },
});
export const leaveChange = (id: string): Change => ({ kind: { $case: 'leave', value: { id } } });
export const removeChange = (id: string): Change => ({ kind: { $case: 'remove', value: { id } } });
export const replaceChange = (old: string, id: string, address: string, dead: boolean): Change => ({
  kind: { $case: 'replace', value: { old, id, address, zone: '', dead } },
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
