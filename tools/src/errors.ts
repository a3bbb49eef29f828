// The errors the cluster launcher reports. Each carries a stable code and, when a node is to blame,
// the node and the end of its log so the caller can show why.

export type ClusterErrorCode =
  /** startCluster was given options it cannot honour (node count, ports). */
  | 'invalid_options'
  /** The storage node entry point does not exist (not built yet). */
  | 'node_bin_missing'
  /** A port the cluster needs is already taken on the host. */
  | 'port_in_use'
  /** A node process exited while the launcher waited for it to serve. */
  | 'node_exited'
  /** A node did not answer SERVING within the start timeout. */
  | 'start_timeout'
  /** A node did not exit within the stop timeout, even after SIGKILL. */
  | 'stop_timeout'
  /** No node has the given id. */
  | 'unknown_node'
  /** The cluster was stopped; it cannot restart nodes any more. */
  | 'cluster_stopped';

export interface ClusterErrorDetails {
  readonly nodeId?: string;
  readonly logFile?: string;
  /** The last lines of the node's log, when it has one. */
  readonly logTail?: string;
}

export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  readonly nodeId: string | undefined;
  readonly logFile: string | undefined;
  readonly logTail: string | undefined;

  constructor(
    readonly code: ClusterErrorCode,
    message: string,
    details: ClusterErrorDetails = {},
  ) {
    super(message);
    this.nodeId = details.nodeId;
    this.logFile = details.logFile;
    this.logTail = details.logTail;
  }
}

/** A programmer error: the launcher was used in a way its own code should have prevented. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
