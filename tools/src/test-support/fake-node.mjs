#!/usr/bin/env node
// A stand-in for ringstore-node in the launcher's tests. It takes the same --id, --listen,
// --peer-listen, --data, --nodes and --seeds flags, serves grpc.health.v1.Health on both ports (as
// the node does on its client and its peer port), and stops on SIGTERM or SIGINT. Extra flags
// select a misbehaviour:
//   --fake-delay-ms N        answer NOT_SERVING for N ms before SERVING (a slow start)
//   --fake-crash             print an error and exit 1 at start (a node that cannot start)
//   --fake-not-serving       answer NOT_SERVING forever
//   --fake-ignore-sigterm    ignore SIGTERM and SIGINT (only SIGKILL ends it)
// Each start appends a line to <data>/starts.log and writes its argv to <data>/argv.json, so tests
// can see what the launcher passed.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: false,
  allowPositionals: true,
  options: {
    id: { type: 'string' },
    listen: { type: 'string' },
    'peer-listen': { type: 'string' },
    data: { type: 'string' },
    nodes: { type: 'string' },
    'fake-delay-ms': { type: 'string' },
    'fake-crash': { type: 'boolean' },
    'fake-not-serving': { type: 'boolean' },
    'fake-ignore-sigterm': { type: 'boolean' },
  },
});

const id = String(values.id ?? '?');
const log = (line) => process.stdout.write(`fake node ${id}: ${line}\n`);

if (typeof values.data === 'string') {
  mkdirSync(values.data, { recursive: true });
  appendFileSync(join(values.data, 'starts.log'), `${process.pid}\n`);
  writeFileSync(join(values.data, 'argv.json'), JSON.stringify(process.argv.slice(2)));
}

if (values['fake-crash'] === true) {
  process.stderr.write(
    `fake node ${id}: simulated start-up failure: cannot open the data directory\n`,
  );
  process.exit(1);
}

const health = new HealthImplementation({ '': 'NOT_SERVING' });
const servers = [];

function serve(address) {
  const server = new grpc.Server();
  health.addToServer(server);
  servers.push(server);
  server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => {
    if (error !== null) {
      process.stderr.write(`fake node ${id}: cannot listen on ${address}: ${error.message}\n`);
      process.exit(1);
    }
    log(`listening on ${address}`);
  });
}

serve(String(values.listen ?? '127.0.0.1:0'));
if (typeof values['peer-listen'] === 'string') serve(values['peer-listen']);

const stop = (signal) => {
  if (values['fake-ignore-sigterm'] === true) {
    log(`ignoring ${signal}`);
    return;
  }
  log(`stopping on ${signal}`);
  for (const server of servers) server.forceShutdown();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

if (values['fake-not-serving'] !== true) {
  await sleep(Number(values['fake-delay-ms'] ?? 0));
  health.setStatus('', 'SERVING');
  log('SERVING');
}
