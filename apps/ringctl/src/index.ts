// @ringstore/ringctl: the command-line tool. The library surface exists for tests and embedding;
// users run the `ringctl` binary (bin/ringctl.js -> dist/main.js).
export { run } from './run.js';
export type { RunIo, TextSink } from './io.js';
export { exitCode, InputError, RpcError, UsageError, type ExitCode } from './errors.js';
