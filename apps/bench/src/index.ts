export { runLoad, concurrencyMax, durationMsMax, valueBytesMax, type LoadOptions, type LoadResult, type Workload } from './load.js';
export { run, type BenchIo } from './run.js';
