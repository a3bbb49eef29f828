// What a fuzz run saw: requests sent per RPC, status codes per RPC (and per Link message kind) and
// overall, the answers that are bugs (INTERNAL, or UNKNOWN: a handler that threw) with the request
// that caused each, and the last requests each node received, to show beside a crash.
import type { Result } from './transport.js';
import type { FuzzRequest } from './world.js';

/** Status names that mean the node failed, not the request: each one is a finding. */
export const faultCodes: readonly string[] = ['INTERNAL', 'UNKNOWN'];
/** Findings kept in full; later ones are only counted. */
export const findingsMax = 100;
/** Request bodies kept per finding: enough to replay any request the fuzzer makes but the huge. */
export const findingBodyBytesMax = 256 * 1024;
/** Requests remembered per node for a crash report. */
export const recentPerNodeMax = 20;

/** A request as a report shows it: the body in base64 (cut at findingBodyBytesMax). */
export interface RequestRecord {
  readonly index: number;
  readonly rpc: string;
  readonly path: string;
  readonly port: string;
  readonly node: string;
  readonly from: string | undefined;
  readonly variant: string;
  readonly bodyBytes: number;
  readonly bodyBase64: string;
  readonly link: string | undefined;
}

export interface Finding {
  readonly request: RequestRecord;
  /** The RPC or Link message kind that answered so, its status and details. */
  readonly answer: Result;
}

export function recordOf(request: FuzzRequest): RequestRecord {
  return {
    index: request.index,
    rpc: request.rpc,
    path: request.path,
    port: request.port,
    node: request.node,
    from: request.from,
    variant: request.variant,
    bodyBytes: request.body.length,
    bodyBase64: request.body.subarray(0, findingBodyBytesMax).toString('base64'),
    link: request.link?.map((m) => `${m.kind}#${m.id}`).join(','),
  };
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export class Tally {
  /** Requests sent per RPC. */
  readonly sent = new Map<string, number>();
  /** Status names per RPC, and per Link message kind ('Link.replicate', ...). */
  readonly byRpc = new Map<string, Map<string, number>>();
  /** Status names over every answer. */
  readonly codes = new Map<string, number>();
  readonly findings: Finding[] = [];
  findingsTotal = 0;
  private readonly recent = new Map<string, FuzzRequest[]>();

  get requests(): number {
    let total = 0;
    for (const n of this.sent.values()) total += n;
    return total;
  }

  /** Notes a request as it is sent (before its answer: a crash may come first). */
  sending(request: FuzzRequest): void {
    bump(this.sent, request.rpc);
    const list = this.recent.get(request.node) ?? [];
    list.push(request);
    if (list.length > recentPerNodeMax) list.shift();
    this.recent.set(request.node, list);
  }

  answered(request: FuzzRequest, results: readonly Result[]): void {
    for (const r of results) {
      const codes = this.byRpc.get(r.rpc) ?? new Map<string, number>();
      bump(codes, r.code);
      this.byRpc.set(r.rpc, codes);
      bump(this.codes, r.code);
      if (!faultCodes.includes(r.code)) continue;
      this.findingsTotal++;
      if (this.findings.length < findingsMax)
        this.findings.push({ request: recordOf(request), answer: r });
    }
  }

  recentTo(node: string): RequestRecord[] {
    return (this.recent.get(node) ?? []).map(recordOf);
  }
}
