// KV.Session, the node's side: a long-lived bidirectional stream carrying many Get, Put and
// Delete calls per frame (proto/ringstore/v1/kv.proto). Each call goes through the same gate,
// handler and metrics as its unary RPC (gate.ts), with the stream's metadata as its credentials,
// checked per call (a token revoked by SIGHUP stops working on open streams too). Replies are
// framed as they finish (@ringstore/frames, shared with the peer link), each frame naming the
// node's ring as a unary call's headers do.
import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js';
import { FrameOutbox, type FrameLimits } from '@ringstore/frames';
import type {
  DeleteRequest,
  GetRequest,
  PutRequest,
  SessionCall,
  SessionReply,
  SessionRequest,
  SessionResponse,
} from '@ringstore/proto';
import type { ClusterView } from './cluster-view.js';
import { refused, toItemError, toServiceError } from './errors.js';
import { gated, type GateDeps, type GateOutcome } from './gate.js';
import type { KvHandler } from './roles/coordinator/kv-handler.js';
import { isUndecodable, undecodableReason } from './undecodable.js';

export interface SessionLimits {
  /** Calls one frame may carry; a larger frame ends the stream (INVALID_ARGUMENT). */
  readonly frameCallsMax: number;
  /** Calls of one stream in progress at once; at the limit the node stops reading the stream. */
  readonly servingMax: number;
  /** Reply frames: messages and approximate bytes. */
  readonly replyFrame: FrameLimits;
}

export const sessionLimitsDefault: SessionLimits = {
  frameCallsMax: 1_000,
  servingMax: 4_096,
  replyFrame: { messagesMax: 512, bytesMax: 4 * 1024 * 1024 },
};

export interface SessionDeps extends GateDeps {
  readonly kv: KvHandler;
  readonly view: ClusterView;
  readonly requestTimeoutMs: number;
  readonly sessionLimits: SessionLimits;
}

type Call = NonNullable<SessionCall['call']>;
type Stream = ServerDuplexStream<SessionRequest, SessionResponse>;

const paths = {
  get: '/ringstore.v1.KV/Get',
  put: '/ringstore.v1.KV/Put',
  delete: '/ringstore.v1.KV/Delete',
} as const;

/** Approximate bytes of a reply, for cutting frames (an exact size would cost an encode). */
function replyBytes(reply: SessionReply): number {
  const r = reply.result;
  if (r === undefined) return 16;
  switch (r.$case) {
    case 'get':
      return r.value.siblings.reduce(
        (n, s) => n + 16 + s.value.length,
        32 + r.value.context.length,
      );
    case 'put':
      return r.value.siblings.reduce(
        (n, s) => n + 16 + s.value.length,
        32 + r.value.context.length,
      );
    case 'delete':
      return 16;
    case 'error':
      return 64 + r.value.message.length;
  }
}

/** The open sessions of a node, so that shutdown can end them once their calls are answered. */
export class Sessions {
  private readonly open = new Set<{ drain(): void }>();

  get size(): number {
    return this.open.size;
  }

  serve(stream: Stream, deps: SessionDeps): void {
    const session = serveSession(stream, deps, () => this.open.delete(session));
    this.open.add(session);
  }

  /** Ends every open session as soon as its calls in progress are answered. */
  drain(): void {
    for (const session of this.open) session.drain();
  }
}

function serveSession(stream: Stream, deps: SessionDeps, forget: () => void): { drain(): void } {
  const limits = deps.sessionLimits;
  let serving = 0;
  let closed = false;
  let ending = false;
  let paused = false;
  const outbox = new FrameOutbox<SessionReply>(limits.replyFrame, replyBytes, (replies) => {
    if (closed) return;
    const frame: SessionResponse = {
      replies,
      ringVersion: deps.view.version,
      ringTerm: BigInt(deps.view.document.term),
    };
    // The client reads slower than calls finish: stop reading its calls until it catches up.
    if (!stream.write(frame) && !paused) pause();
  });
  const pause = (): void => {
    paused = true;
    stream.pause();
  };
  const resumeIfRoom = (): void => {
    if (paused && !closed && serving < limits.servingMax && stream.writableNeedDrain !== true) {
      paused = false;
      stream.resume();
    }
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    forget();
  };
  const endIfDone = (): void => {
    if (!ending || serving > 0 || closed) return;
    outbox.flush();
    close();
    stream.end();
  };
  const reply = (id: bigint, outcome: GateOutcome<SessionReply['result']>): void => {
    if (closed) return;
    outbox.push({
      id,
      result: outcome.ok ? outcome.response : { $case: 'error', value: toItemError(outcome.error) },
    });
  };
  stream.on('data', (frame: SessionRequest) => {
    // While ending (a stop), calls still get answers: the gate refuses them, not applied.
    if (closed) return;
    if (isUndecodable(frame) || frame.calls.length > limits.frameCallsMax) {
      const why = isUndecodable(frame)
        ? `session frame does not decode: ${undecodableReason(frame)}`
        : `session frame of ${frame.calls.length} calls: at most ${limits.frameCallsMax}`;
      close();
      stream.emit('error', toServiceError(refused('invalid-argument', why)));
      return;
    }
    for (const c of frame.calls) {
      serving++;
      void runCall(deps, stream.metadata, c)
        .then((outcome) => reply(c.id, outcome))
        .finally(() => {
          serving--;
          resumeIfRoom();
          endIfDone();
        });
    }
    if (serving >= limits.servingMax && !paused) pause();
  });
  stream.on('drain', resumeIfRoom);
  stream.on('error', close);
  stream.on('cancelled', close);
  stream.on('end', () => {
    // The client has no more calls: answer those in progress, then end.
    ending = true;
    endIfDone();
  });
  return {
    drain: () => {
      ending = true;
      endIfDone();
    },
  };
}

/** One call of a session, as its unary RPC would run it. */
function runCall(
  deps: SessionDeps,
  metadata: Metadata,
  c: SessionCall,
): Promise<GateOutcome<SessionReply['result']>> {
  const call: Call | undefined = c.call;
  if (call === undefined) {
    const e = refused('invalid-argument', `session call ${c.id} has no get, put or delete`);
    return Promise.resolve({ ok: false, error: e });
  }
  const timeoutMs =
    c.timeoutMs > 0 ? Math.min(c.timeoutMs, deps.requestTimeoutMs) : deps.requestTimeoutMs;
  const base = {
    op: call.$case,
    path: paths[call.$case],
    metadata,
    deadlineMs: Date.now() + timeoutMs,
    units: 1,
  };
  switch (call.$case) {
    case 'get':
      return gated(deps, { ...base, request: call.value }, async (req: GetRequest, deadlineMs) => ({
        $case: 'get' as const,
        value: await deps.kv.get(req, deadlineMs),
      }));
    case 'put':
      return gated(deps, { ...base, request: call.value }, async (req: PutRequest, deadlineMs) => ({
        $case: 'put' as const,
        value: await deps.kv.put(req, deadlineMs),
      }));
    case 'delete':
      return gated(
        deps,
        { ...base, request: call.value },
        async (req: DeleteRequest, deadlineMs) => ({
          $case: 'delete' as const,
          value: await deps.kv.delete(req, deadlineMs),
        }),
      );
  }
}
