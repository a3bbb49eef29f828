export {
  InsertSequence,
  concurrencyMax,
  durationMsMax,
  loadRecords,
  operationsMax,
  runPhase,
  valueBytesMax,
  type Driver,
  type PhaseOptions,
  type PhaseResult,
  type Stop,
} from './harness.js';
export { markdown, ratios, type Cell, type Ratio, type Report } from './report.js';
export { run, type BenchIo } from './run.js';
export { workloads, type WorkloadName, type Distribution } from './workload.js';
