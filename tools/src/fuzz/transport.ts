// Sends a fuzzed request as raw bytes (identity serializers: the body goes on the wire as made,
// whether or not it decodes) and says what came back: the status of a unary call; for a Link
// frame, the stream's end and each message's reply (matched by request id).
import { Client, Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { BatchGetResponse, BatchPutResponse, LinkFrame } from '@ringstore/proto';
import type { FuzzRequest } from './world.js';

/** What one RPC (or one Link message kind) answered: a gRPC status name, or a pseudo-status. */
export interface Result {
  readonly rpc: string;
  readonly code: string;
  readonly details: string;
}

/** A message the fuzzer could not put on the wire (e.g. a header value grpc-js refuses). */
export const notSent = 'NOT_SENT';
/** A Link message that got no reply before the fuzzer stopped waiting. */
export const noReply = 'NO_REPLY';
/** A reply the fuzzer could not decode as a LinkFrame. */
export const undecodableReply = 'UNDECODABLE_REPLY';

/** How long the fuzzer waits for a Link frame's replies when it cannot count them. */
const linkWaitUnknownMs = 1_000;
/** How long it waits when every message of the frame is dropped unanswered (timeout 0). */
const linkWaitNoneMs = 300;
/** Replies larger than the client's default 4 MiB (transfer pages, key lists) are still read. */
const receiveBytesMax = 64 * 1024 * 1024;

export function statusName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? `CODE_${code}`;
}

const identity = (b: Buffer): Buffer => b;

/**
 * A batch answered OK still answers each item with its own status: those count as answers too
 * ('KV.BatchGet.item'), so an item that failed INTERNAL is a finding like a call that did.
 */
export function itemResults(rpc: string, reply: Buffer | undefined): Result[] {
  if (reply === undefined || (rpc !== 'KV.BatchGet' && rpc !== 'KV.BatchPut')) return [];
  let errors: ({ code: number; message: string } | undefined)[];
  try {
    errors =
      rpc === 'KV.BatchGet'
        ? BatchGetResponse.decode(reply).results.map((r) =>
            r.result?.$case === 'error' ? r.result.value : undefined,
          )
        : BatchPutResponse.decode(reply).results.map((r) =>
            r.result?.$case === 'error' ? r.result.value : undefined,
          );
  } catch (e) {
    return [{ rpc: `${rpc}.item`, code: undecodableReply, details: String(e) }];
  }
  return errors.map((err) => ({
    rpc: `${rpc}.item`,
    code: err === undefined ? 'OK' : statusName(err.code),
    details: err?.message ?? '',
  }));
}

/** The gRPC channels of one run, one per address. */
export class Wire {
  private readonly clients = new Map<string, Client>();

  private client(address: string): Client {
    let c = this.clients.get(address);
    if (c === undefined) {
      c = new Client(address, credentials.createInsecure(), {
        'grpc.max_receive_message_length': receiveBytesMax,
        'grpc.max_send_message_length': -1,
        'grpc.enable_retries': 0,
      });
      this.clients.set(address, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** Sends the request to the address and resolves with what came back (never rejects). */
  send(request: FuzzRequest, address: string): Promise<Result[]> {
    let md: Metadata;
    try {
      md = new Metadata();
      if (request.from !== undefined) md.set('x-ringstore-from', request.from);
    } catch (e) {
      return Promise.resolve([{ rpc: request.rpc, code: notSent, details: String(e) }]);
    }
    return request.rpc === 'Peer.Link'
      ? this.link(request, address, md)
      : this.unary(request, address, md);
  }

  private unary(request: FuzzRequest, address: string, md: Metadata): Promise<Result[]> {
    return new Promise((resolve) => {
      this.client(address).makeUnaryRequest(
        request.path,
        identity,
        identity,
        request.body,
        md,
        { deadline: Date.now() + request.deadlineMs },
        (e: ServiceError | null, reply?: Buffer) => {
          const code = e === null ? 'OK' : statusName(e.code);
          const call = { rpc: request.rpc, code, details: e?.details ?? '' };
          resolve([call, ...(e === null ? itemResults(request.rpc, reply) : [])]);
        },
      );
    });
  }

  private link(request: FuzzRequest, address: string, md: Metadata): Promise<Result[]> {
    const sent = request.link;
    const expected = sent?.filter((m) => m.replyExpected).length;
    const waitMs =
      expected === undefined
        ? linkWaitUnknownMs
        : expected === 0
          ? linkWaitNoneMs
          : request.deadlineMs;
    const call = this.client(address).makeBidiStreamRequest(request.path, identity, identity, md, {
      deadline: Date.now() + waitMs + 2_000,
    });
    const replies: Reply[] = [];
    let stream: Result = { rpc: 'Peer.Link', code: 'OK', details: '' };
    return new Promise<Result[]>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        call.cancel();
        resolve([stream, ...matchReplies(sent, replies, stream.code)]);
      };
      const timer = setTimeout(finish, waitMs);
      call.on('data', (frame: Buffer) => {
        replies.push(...repliesOf(frame));
        if (expected !== undefined && replies.length >= expected) finish();
      });
      call.on('error', (e: ServiceError) => {
        if (!done) stream = { rpc: 'Peer.Link', code: statusName(e.code), details: e.details };
        finish();
      });
      call.on('end', finish);
      call.write(request.body);
    });
  }
}

interface Reply extends Result {
  readonly id: bigint;
}

function repliesOf(frame: Buffer): Reply[] {
  let decoded: LinkFrame;
  try {
    decoded = LinkFrame.decode(frame);
  } catch (e) {
    return [{ id: -1n, rpc: 'Link.?', code: undecodableReply, details: String(e) }];
  }
  return decoded.messages.map((m) => {
    const body = m.body;
    if (body?.$case === 'error')
      return {
        id: m.requestId,
        rpc: '',
        code: statusName(body.value.code),
        details: body.value.message,
      };
    return { id: m.requestId, rpc: '', code: 'OK', details: body?.$case ?? 'empty reply' };
  });
}

/**
 * Each reply under the kind of the message it answers (the first unanswered one of its request
 * id); messages left unanswered count as NO_REPLY, or as "stream CODE" when the stream itself
 * was refused or broken. Raw frames (kinds unknown): under 'Link.?'.
 */
function matchReplies(
  sent: FuzzRequest['link'],
  replies: readonly Reply[],
  streamCode: string,
): Result[] {
  if (sent === undefined) return replies.map((r) => ({ ...r, rpc: 'Link.?' }));
  const open = sent.map((m) => ({ ...m, answered: false }));
  const out: Result[] = [];
  for (const reply of replies) {
    const m = open.find((o) => !o.answered && o.id === reply.id);
    if (m !== undefined) m.answered = true;
    // Replies carry only the request id: one repeated for messages of different kinds is ambiguous.
    const kinds = new Set(open.filter((o) => o.id === reply.id).map((o) => o.kind));
    const kind = kinds.size > 1 ? '(repeated request id)' : (m?.kind ?? '?');
    out.push({ rpc: `Link.${kind}`, code: reply.code, details: reply.details });
  }
  for (const m of open)
    if (!m.answered) {
      const code = streamCode === 'OK' ? noReply : `stream ${streamCode}`;
      out.push({ rpc: `Link.${m.kind}`, code, details: '' });
    }
  return out;
}
