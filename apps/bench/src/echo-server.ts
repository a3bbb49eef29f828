// The benchmark's `echo` target: a grpc-js server that implements ringstore.v1.KV and does no
// work, answering every Get and Put with messages of the sizes a real node sends (one sibling of
// --value-bytes, a context), and KV.Session's calls the same way. Driven by the same harness, it
// is the ceiling for one RPC per operation on this machine, or for the session's frames. Usage: node dist/echo-server.js --listen 127.0.0.1:PORT --value-bytes N
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { Command, InvalidArgumentError } from 'commander';
import {
  KVService,
  type KVServer,
  type SessionCall,
  type SessionReply,
  type SessionRequest,
} from '@ringstore/proto';

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
  );
program.parse();
const { listen, valueBytes } = program.opts<{ listen: string; valueBytes: number }>();

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

const kv: KVServer = {
  get: (_call, callback) => callback(null, { siblings: [{ value, deleted: false }], context }),
  put: (call, callback) =>
    callback(null, { context, siblings: [{ value: call.request.value, deleted: false }] }),
  delete: (_call, callback) => callback(null, { context }),
  // A batch's no-op answer: one result per item, as a node gives.
  batchGet: (call, callback) =>
    callback(null, {
      results: call.request.items.map(() => ({
        result: { $case: 'ok', value: { siblings: [{ value, deleted: false }], context } },
      })),
    }),
  batchPut: (call, callback) =>
    callback(null, {
      results: call.request.items.map((item) =>
        item.write?.$case === 'delete'
          ? { result: { $case: 'delete', value: {} } }
          : {
              result: {
                $case: 'put',
                value: {
                  context,
                  siblings: [{ value: item.write?.value.value ?? value, deleted: false }],
                },
              },
            },
      ),
    }),
  // The streaming echo: each frame of calls answered by one frame of replies, the ceiling of
  // the SDK's pipelined session on this machine.
  session: (call) => {
    call.on('data', (frame: SessionRequest) => {
      const replies = frame.calls.map((c) => ({ id: c.id, result: sessionResult(c) }));
      call.write({ replies, ringVersion: 1n, ringTerm: 1n });
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  },
};
const server = new Server();
server.addService(KVService, kv);
server.bindAsync(listen, ServerCredentials.createInsecure(), (error) => {
  if (error) {
    process.stderr.write(`echo server: cannot listen on ${listen}: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`echo server listening on ${listen}\n`);
});
const shutdown = (): void => {
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), shutdownGraceMs).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
