// @ringstore/tools: the local cluster launcher behind `npm start`, and the helpers the tests that
// start real node processes use.
export {
  logTailLines,
  nodeArgs,
  nodesMax,
  startCluster,
  startTimeoutMsDefault,
  stopTimeoutMsDefault,
  type Cluster,
  type ClusterNode,
  type StartClusterOptions,
} from './cluster.js';
export { ClusterError, type ClusterErrorCode, type ClusterErrorDetails } from './errors.js';
export { freePort, freePorts, freePortsMax, isPortFree } from './free-port.js';
export {
  checkHealth,
  healthClient,
  waitForServing,
  type HealthStatus,
  type WaitForServingOptions,
  type WaitResult,
} from './health.js';
export {
  basePortDefault,
  dataDirDefault,
  formatBanner,
  LauncherUsageError,
  nodeCountDefault,
  parseLauncherArgs,
  runLauncher,
  type LauncherIo,
  type TextSink,
} from './launcher.js';
export { readLogTail, logTailBytesMax } from './log-tail.js';
export { createRng, seedMax, type Rng } from './chaos/prng.js';
export { createTestPki, type PkiNode, type TestPki } from './chaos/pki.js';
export {
  describeExit,
  killAllChildren,
  liveChildPids,
  spawnChild,
  stopChild,
  waitForExit,
  type ChildHandle,
  type ExitInfo,
  type SpawnOptions,
} from './node-process.js';
