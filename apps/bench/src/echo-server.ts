// The benchmark's `echo` target: a grpc-js server that implements ringstore.v1.KV and does no
// work, answering every Get and Put with messages of the sizes a real node sends (one sibling of
// --value-bytes, a context), and KV.Session's calls the same way. Driven by the same harness, it
// is the ceiling for one RPC per operation on this machine, or for the session's frames.
// With --peers (the echo-quorum target), every call first sends the peer messages a Ringstore
// coordinator sends with N=3 and R=W=2 to the other servers and answers once a quorum would have
// (echo-relay.ts): the floor of a replicated request on grpc-js, without Ringstore's own work.
// Usage: node dist/echo-server.js --listen 127.0.0.1:PORT --value-bytes N [--peers HOST:PORT,...]
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { Command, InvalidArgumentError } from 'commander';
import { FrameOutbox } from '@ringstore/frames';
import {
  KVService,
  PeerService,
  type KVServer,
  type LinkFrame,
  type SessionCall,
  type SessionReply,
  type SessionRequest,
} from '@ringstore/proto';
import { EchoRelay, objectOverheadBytes, serveEchoLink } from './echo-relay.js';

/** A context as long as a three-replica DVVSet context. */
export const echoContextBytes = 48;

/** The harness's valueBytesMax (4 MiB, gRPC's default message size), kept here to start fast. */
const valueBytesMax = 4 * 1024 * 1024;
/** After SIGTERM, how long open calls may finish before the server exits anyway. */
const shutdownGraceMs = 2_000;

const program = new Command('ringstore-bench-echo')
  .requiredOption('--listen <host:port>', 'address to serve on')
  .option(
    '--value-bytes <n>',
    'size of the value in every answer',
    (raw) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0 || n > valueBytesMax)
        throw new InvalidArgumentError(`--value-bytes must be in 0..${valueBytesMax}`);
      return n;
    },
    100,
  )
  .option(
    '--peers <list>',
    'the other servers of a quorum (host:port,...): relay as a node does',
    (raw) => raw.split(',').filter((a) => a.length > 0),
  );
program.parse();
const { listen, valueBytes, peers } = program.opts<{
  listen: string;
  valueBytes: number;
  peers?: string[];
}>();

const value = Buffer.alloc(valueBytes, 0x61);
const context = Buffer.alloc(echoContextBytes, 0x01);
/** A session call's no-op answer, as get, put and delete answer. */
function sessionResult(c: SessionCall): SessionReply['result'] {
  switch (c.call?.$case) {
    case 'get':
      return { $case: 'get', value: { siblings: [{ value, deleted: false }], context } };
    case 'put':
      return {
        $case: 'put',
        value: { context, siblings: [{ value: c.call.value.value, deleted: false }] },
      };
    case 'delete':
      return { $case: 'delete', value: {} };
    case undefined:
      return {
        $case: 'error',
        value: { code: 3, message: 'no call', failure: undefined, retryAfterMs: 0 },
      };
  }
}

/** What a relayed request may wait for the others: the call's own deadline, else this. */
const relayTimeoutMs = 5_000;
const relay =
  peers === undefined || peers.length === 0
    ? undefined
    : new EchoRelay(peers, valueBytes + objectOverheadBytes, relayTimeoutMs);
const relayRead = (key: Uint8Array): Promise<void> =>
  relay === undefined ? Promise.resolve() : relay.read(key);
const relayWrite = (key: Uint8Array, bytes: number): Promise<void> =>
  relay === undefined ? Promise.resolve() : relay.replicate(key, bytes);

/** Answers `response` once `work` (the relayed messages) is done; UNAVAILABLE if it failed. */
function after<Res>(
  work: Promise<unknown>,
  callback: sendUnaryData<Res>,
  response: () => Res,
): void {
  work.then(
    () => callback(null, response()),
    (e: unknown) =>
      callback({ code: status.UNAVAILABLE, details: e instanceof Error ? e.message : String(e) }),
  );
}
/** Without a relay the answer goes at once, as the echo always did (no promise turn added). */
function answer<Req, Res>(
  call: ServerUnaryCall<Req, Res>,
  callback: sendUnaryData<Res>,
  work: (req: Req) => Promise<unknown>,
  response: (req: Req) => Res,
): void {
  if (relay === undefined) callback(null, response(call.request));
  else after(work(call.request), callback, () => response(call.request));
}

/** A session's reply frames, as many as one turn finished (the node's session limit). */
const sessionFrameLimits = { messagesMax: 512, bytesMax: 4 * 1024 * 1024 };

function sessionRelay(c: SessionCall): Promise<void> {
  switch (c.call?.$case) {
    case 'get':
      return relayRead(c.call.value.key);
    case 'put':
      return relayWrite(c.call.value.key, c.call.value.value.length);
    case 'delete':
      return relayWrite(c.call.value.key, 0);
    case undefined:
      return Promise.resolve();
  }
}

function sessionError(e: unknown): SessionReply['result'] {
  const message = e instanceof Error ? e.message : String(e);
  return {
    $case: 'error',
    value: { code: status.UNAVAILABLE, message, failure: undefined, retryAfterMs: 0 },
  };
}

const kv: KVServer = {
  get: (call, callback) =>
    answer(
      call,
      callback,
      (req) => relayRead(req.key),
      () => ({
        siblings: [{ value, deleted: false }],
        context,
      }),
    ),
  put: (call, callback) =>
    answer(
      call,
      callback,
      (req) => relayWrite(req.key, req.value.length),
      (req) => ({ context, siblings: [{ value: req.value, deleted: false }] }),
    ),
  delete: (call, callback) =>
    answer(
      call,
      callback,
      (req) => relayWrite(req.key, 0),
      () => ({ context }),
    ),
  // A batch's no-op answer: one result per item, as a node gives (relayed item by item).
  batchGet: (call, callback) =>
    answer(
      call,
      callback,
      (req) => Promise.all(req.items.map((item) => relayRead(item.key))),
      (req) => ({
        results: req.items.map(() => ({
          result: {
            $case: 'ok' as const,
            value: { siblings: [{ value, deleted: false }], context },
          },
        })),
      }),
    ),
  batchPut: (call, callback) =>
    answer(
      call,
      callback,
      (req) =>
        Promise.all(
          req.items.map((item) =>
            item.write === undefined
              ? Promise.resolve()
              : relayWrite(
                  item.write.value.key,
                  item.write.$case === 'put' ? item.write.value.value.length : 0,
                ),
          ),
        ),
      (req) => ({
        results: req.items.map((item) =>
          item.write?.$case === 'delete'
            ? { result: { $case: 'delete' as const, value: {} } }
            : {
                result: {
                  $case: 'put' as const,
                  value: {
                    context,
                    siblings: [{ value: item.write?.value.value ?? value, deleted: false }],
                  },
                },
              },
        ),
      }),
    ),
  // The streaming echo: each frame of calls answered by one frame of replies, the ceiling of
  // the SDK's pipelined session on this machine. With a relay, each call is answered when its
  // messages are, in frames of whatever finished in one turn (as a node's session answers).
  session: (call) => {
    const outbox = new FrameOutbox<SessionReply>(
      sessionFrameLimits,
      () => 64,
      (replies) => call.write({ replies, ringVersion: 1n, ringTerm: 1n }),
    );
    call.on('data', (frame: SessionRequest) => {
      if (relay === undefined) {
        const replies = frame.calls.map((c) => ({ id: c.id, result: sessionResult(c) }));
        call.write({ replies, ringVersion: 1n, ringTerm: 1n });
        return;
      }
      for (const c of frame.calls) {
        const reply = (result: SessionReply['result']): void => outbox.push({ id: c.id, result });
        sessionRelay(c).then(
          () => reply(sessionResult(c)),
          (e: unknown) => reply(sessionError(e)),
        );
      }
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  },
};
const server = new Server({
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
});
server.addService(KVService, kv);
// The quorum's peer messages: Peer.Link only (the other Peer methods answer UNIMPLEMENTED).
if (relay !== undefined)
  server.addService(PeerService, {
    link: (call: ServerDuplexStream<LinkFrame, LinkFrame>) =>
      serveEchoLink(call, valueBytes + objectOverheadBytes),
  });
server.bindAsync(listen, ServerCredentials.createInsecure(), (error) => {
  if (error) {
    process.stderr.write(`echo server: cannot listen on ${listen}: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`echo server listening on ${listen}\n`);
});
const shutdown = (): void => {
  relay?.close();
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), shutdownGraceMs).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
