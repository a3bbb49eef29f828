// A wave worker: a child process that holds one channel to the node and fires its share of each
// wave when the parent says so, so that with several workers the client's CPU is not the
// bottleneck. Protocol (IPC, advanced serialization): parent -> { kind: 'fire', spec } |
// { kind: 'close' }; worker -> { kind: 'ready' } | { kind: 'tally', tally } | { kind: 'error' }.
import { fireWave, waitConnected, waveClient, type WaveSpec, type WaveTally } from './wave.js';

export type ToWorker = { kind: 'fire'; spec: WaveSpec } | { kind: 'close' };
export type FromWorker =
  { kind: 'ready' } | { kind: 'tally'; tally: WaveTally } | { kind: 'error'; message: string };

/** Bound on the worker's dial: a local node that serves answers within milliseconds. */
const connectTimeoutMs = 10_000;

function send(message: FromWorker): void {
  process.send?.(message);
}

function main(): void {
  const address = process.argv[2];
  if (address === undefined || process.send === undefined) {
    process.stderr.write('wave-worker: run by the overload bench with the node address\n');
    process.exitCode = 2;
    return;
  }
  const client = waveClient(address);
  process.on('message', (m: ToWorker) => {
    if (m.kind === 'close') {
      client.close();
      process.disconnect();
      return;
    }
    fireWave(client, m.spec).then(
      (tally) => send({ kind: 'tally', tally }),
      (e: unknown) => send({ kind: 'error', message: String(e) }),
    );
  });
  // The parent going away ends the worker too: no orphan keeps firing.
  process.on('disconnect', () => client.close());
  waitConnected(client, connectTimeoutMs).then(
    () => send({ kind: 'ready' }),
    (e: unknown) => send({ kind: 'error', message: `connect ${address}: ${String(e)}` }),
  );
}

main();
