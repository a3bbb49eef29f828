import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { ClusterView } from '../cluster-view.js';
import type { KeyInspector } from '../inspect-key.js';
import type { Metrics } from '../metrics.js';
import type { AntiEntropy } from '../roles/anti-entropy/anti-entropy.js';
import type { Claimant } from '../roles/claimant/claimant.js';
import type { Gossiper } from '../roles/gossip/gossiper.js';
import type { Transfers } from '../roles/transfer/transfer.js';
import type { ClientGuard } from '../security/guard.js';
import { ConsoleApi } from './api.js';
import { RequestHistory } from './history.js';
import { consoleHandler, type ConsoleHandler } from './http.js';
import { recentWarnings } from './warnings.js';

/** What the console reads of a running node. */
export interface ConsoleDeps {
  readonly nodeId: string;
  readonly view: ClusterView;
  readonly gossiper: Gossiper;
  readonly claimant: Claimant;
  readonly transfers: Transfers;
  readonly antiEntropy: AntiEntropy;
  readonly hintCounts: () => ReadonlyMap<string, number>;
  readonly keyInspector: KeyInspector;
  readonly aeIntervalMs: number;
  readonly metrics: Metrics;
  readonly guard: ClientGuard;
  readonly serving: () => boolean;
}

/** How often the console notes members' heartbeat counters (their "last heartbeat" age). */
const heartbeatObserveMs = 1_000;

/** The package's version (apps/storage-node/package.json; the installed package's own). */
function softwareVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : 'unknown';
}

/**
 * The console's handler; `attach` starts its samplers once the admin HTTP server listens, and
 * they stop when that server closes.
 */
export function startConsole(d: ConsoleDeps): {
  handler: ConsoleHandler;
  attach(server: Server): void;
} {
  const history = new RequestHistory(d.metrics.requests, d.metrics.latency);
  const api = new ConsoleApi({
    nodeId: d.nodeId,
    version: softwareVersion(),
    ring: () => d.view.toMessage(),
    inspect: (key) => d.keyInspector.inspect(key),
    members: () => d.gossiper.members(),
    isUp: (id) => d.gossiper.isUp(id),
    applied: () =>
      new Map(d.claimant.status().applied.map((a) => [a.node, Number(a.version)] as const)),
    transfers: () => ({ inbound: d.transfers.list(), limits: d.transfers.limitsMessage() }),
    hints: d.hintCounts,
    antiEntropy: () => d.antiEntropy.status(),
    aeIntervalMs: d.aeIntervalMs,
    requests: history,
    warnings: recentWarnings,
    serving: d.serving,
  });
  const handler = consoleHandler({
    api,
    authorize: (header) => d.guard.authorizeAdmin(header),
  });
  return {
    handler,
    attach(server) {
      history.start();
      const heartbeats = setInterval(() => api.observeHeartbeats(), heartbeatObserveMs);
      heartbeats.unref();
      server.once('close', () => {
        history.stop();
        clearInterval(heartbeats);
      });
    },
  };
}
