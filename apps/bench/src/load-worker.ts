// A load worker (--client-procs K > 1): a child process of the bench with a driver of its own,
// built from the target's driver spec, that runs its share of each phase (some of the workers,
// its own seed, its own insert numbers) and sends back its tally, window and CPU, so that the
// load generator's CPU is spread over K processes. Protocol (IPC, advanced serialization):
// parent -> { kind: 'connect', spec, batch } | { kind: 'phase', phase } | { kind: 'close' };
// worker -> { kind: 'ready', batch } | { kind: 'progress', done } | { kind: 'done', done }
// | { kind: 'error', message }. Types and the bench's side are in load-workers.ts.
import { performance } from 'node:perf_hooks';
import { coalescingDriver } from './coalesce.js';
import { InsertSequence, runPhaseTally, tallyToData, type Driver } from './harness.js';
import type { FromLoadWorker, ToLoadWorker, WorkerPhase, WorkerPhaseDone } from './load-workers.js';
import { driverFromSpec } from './targets/driver-spec.js';
import { workloads } from './workload.js';

function send(message: FromLoadWorker): void {
  // A closed channel means the bench is gone; 'disconnect' ends this process.
  process.send?.(message, undefined, undefined, () => undefined);
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Now, in milliseconds since the epoch: windows of different processes compare on it. */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The worker's share of one phase; its CPU counted over the phase alone. */
async function runShare(driver: Driver, phase: WorkerPhase): Promise<WorkerPhaseDone> {
  const inserts = new InsertSequence(phase.insertsFrom, phase.insertsStep);
  const cpuBefore = process.cpuUsage();
  const startedAtMs = epochMs();
  const { tally, durationMs } = await runPhaseTally({
    driver,
    workload: workloads[phase.workload],
    distribution: phase.distribution,
    records: phase.records,
    inserts,
    valueBytes: phase.valueBytes,
    concurrency: phase.concurrency,
    stop: phase.stop,
    seed: phase.seed,
    onProgress: (done) => send({ kind: 'progress', done }),
  });
  const endedAtMs = epochMs();
  const cpu = process.cpuUsage(cpuBefore);
  return {
    pid: process.pid,
    tally: tallyToData(tally),
    startedAtMs,
    endedAtMs,
    durationMs,
    cpuUs: cpu.user + cpu.system,
    insertsNext: inserts.issued,
  };
}

function main(): void {
  if (process.send === undefined) {
    process.stderr.write('load-worker: started by the bench (--client-procs), not by hand\n');
    process.exitCode = 2;
    return;
  }
  let driver: Driver | undefined;
  process.on('message', (m: ToLoadWorker) => {
    switch (m.kind) {
      case 'connect':
        driverFromSpec(m.spec).then(
          (plain) => {
            const batches = m.batch > 1 && plain.readMany !== undefined;
            driver = batches ? coalescingDriver(plain, m.batch) : plain;
            send({ kind: 'ready', batch: batches ? m.batch : 1 });
          },
          (e: unknown) => send({ kind: 'error', message: `connect: ${messageOf(e)}` }),
        );
        return;
      case 'phase':
        if (driver === undefined) {
          send({ kind: 'error', message: 'a phase before connect' });
          return;
        }
        runShare(driver, m.phase).then(
          (done) => send({ kind: 'done', done }),
          (e: unknown) => send({ kind: 'error', message: messageOf(e) }),
        );
        return;
      case 'close':
        // The bench waits a bounded time for the exit, then kills this pid.
        Promise.resolve(driver?.close())
          .catch(() => undefined)
          .finally(() => process.exit(0));
        return;
    }
  });
  // The bench going away (its end, a crash, a kill) ends the worker too: no orphan keeps loading
  // a server after the run.
  process.on('disconnect', () => process.exit(1));
}

main();
