import { Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';

/** Response metadata in which every node names its ring version (a decimal string). */
export const ringVersionHeader = 'x-ringstore-ring-version';

/** A generated client method in its four-argument form. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** How one unary call ended. */
export type UnaryOutcome<Res> =
  | { readonly ok: true; readonly response: Res; readonly ringVersion: bigint | undefined }
  | {
      readonly ok: false;
      readonly error: ServiceError;
      /** The node sent response headers: the request reached its handler. */
      readonly answered: boolean;
      readonly ringVersion: bigint | undefined;
    };

/** Calls that may be cancelled by `close()`. */
export type InflightCalls = Set<ClientUnaryCall>;

/** The ring version of a node's response headers, when it sent a well-formed one. */
export function ringVersionOf(metadata: Metadata): bigint | undefined {
  const value = metadata.get(ringVersionHeader)[0];
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) return undefined;
  return BigInt(value);
}

/**
 * One unary call with an absolute deadline (ms since the epoch). Never rejects: the outcome says
 * whether the node answered, and with which ring version.
 */
export function callUnary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  deadline: number,
  inflight: InflightCalls,
): Promise<UnaryOutcome<Res>> {
  return new Promise((resolve) => {
    let answered = false;
    let ringVersion: bigint | undefined;
    const call = method(request, new Metadata(), { deadline }, (error, response) => {
      inflight.delete(call);
      if (error === null) resolve({ ok: true, response, ringVersion });
      else resolve({ ok: false, error, answered, ringVersion });
    });
    inflight.add(call);
    call.on('metadata', (metadata: Metadata) => {
      answered = true;
      ringVersion = ringVersionOf(metadata);
    });
  });
}
