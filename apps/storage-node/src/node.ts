import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { openSqliteEngine, type StorageEngine } from '@ringstore/storage';
import { ClusterView } from './cluster-view.js';
import { ConfigError, type NodeConfig } from './config.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { PeerLinks, linkLimitsDefault, type LinkHandler, type ReplyBody } from './peer-link.js';
import { Coordinator } from './roles/coordinator/coordinator.js';
import { KvHandler } from './roles/coordinator/kv-handler.js';
import { AntiEntropy } from './roles/anti-entropy/anti-entropy.js';
import { trackWrites } from './roles/anti-entropy/tracked-storage.js';
import { PartitionTrees } from './roles/anti-entropy/trees.js';
import { Gossiper } from './roles/gossip/gossiper.js';
import { livenessDefaults } from './roles/gossip/liveness.js';
import { Handoff } from './roles/handoff/handoff.js';
import { Replica } from './roles/replica/replica.js';

/** How often pending hints are looked at; a peer seen alive again triggers delivery at once. */
const handoffIntervalMs = 1_000;
import { InflightTracker, startGrpcServer, type RunningServer } from './server.js';

export interface RunningNode {
  readonly port: number;
  readonly actor: string;
  readonly metrics: Metrics;
  stop(): Promise<void>;
}

/**
 * The actor named in this node's dots: created with the data directory and kept in meta, so a
 * node that lost its data comes back as a new actor (DESIGN.md section 3, Riak's kv679).
 */
function storageActor(storage: StorageEngine, nodeId: string): string {
  const owner = storage.getMeta('node_id');
  if (owner !== undefined && owner !== nodeId) {
    throw new ConfigError(`data directory belongs to node ${owner}, not ${nodeId}`);
  }
  if (owner === undefined) storage.setMeta('node_id', nodeId);
  let actor = storage.getMeta('actor');
  if (actor === undefined) {
    actor = `${nodeId}.${randomBytes(6).toString('hex')}`;
    storage.setMeta('actor', actor);
  }
  return actor;
}

function linkHandler(
  kv: KvHandler,
  replica: Replica,
  handoff: Handoff,
  antiEntropy: AntiEntropy,
): LinkHandler {
  return async (body, ctx): Promise<ReplyBody> => {
    switch (body.$case) {
      case 'replicate': {
        const stored = await replica.replicate(body.value);
        if (body.value.hintFor !== '') await handoff.addHint(body.value, stored);
        return { $case: 'replicateReply', value: {} };
      }
      case 'read':
        return {
          $case: 'readReply',
          value: replica.readMessage(body.value.partition, body.value.key),
        };
      case 'forwardGet':
        return { $case: 'forwardGetReply', value: await kv.get(body.value, ctx.deadlineMs, true) };
      case 'forwardPut':
        return { $case: 'forwardPutReply', value: await kv.put(body.value, ctx.deadlineMs, true) };
      case 'forwardDelete':
        return {
          $case: 'forwardDeleteReply',
          value: await kv.delete(body.value, ctx.deadlineMs, true),
        };
      case 'handoff': {
        for (const object of body.value.objects)
          await replica.replicate({ ...object, hintFor: '' });
        return { $case: 'handoffReply', value: { applied: body.value.objects.length } };
      }
      case 'reap':
        return { $case: 'reapReply', value: await antiEntropy.reapHere(body.value) };
    }
  };
}

export async function startNode(config: NodeConfig, log: Logger): Promise<RunningNode> {
  mkdirSync(config.data, { recursive: true });
  const metrics = new Metrics();
  const storage = openSqliteEngine({
    path: join(config.data, 'ringstore.db'),
    synchronous: config.synchronous,
    onCorruption: (e) =>
      log.warn(
        { partition: e.partition, key: Buffer.from(e.key).toString('base64'), reason: e.reason },
        'corrupt object: treated as missing',
      ),
  });
  let grpc: RunningServer | undefined;
  let http: HttpServer | undefined;
  let links: PeerLinks | undefined;
  let gossiper: Gossiper | undefined;
  let handoff: Handoff | undefined;
  let antiEntropy: AntiEntropy | undefined;
  try {
    const actor = storageActor(storage, config.id);
    const view = new ClusterView(config.id, config.nodes, config.partitions, config.replicas);
    links = new PeerLinks(config.id, (id) => view.addressOf(id), log, linkLimitsDefault);
    gossiper = new Gossiper(
      { id: config.id, address: config.listen, zone: config.zone, generation: Date.now() },
      config.nodes.filter((n) => n.id !== config.id),
      {
        gossipIntervalMs: config.gossipIntervalMs,
        phiThreshold: config.phiThreshold,
        ...livenessDefaults(config.gossipIntervalMs),
      },
      log,
    );
    const liveness = gossiper;
    // Every object write goes through `tracked`, so the partitions' Merkle trees follow the data.
    const trees = new PartitionTrees(storage, view.partitionsReplicated());
    trees.rebuildAll();
    const tracked = trackWrites(storage, (p, key, previous, next) =>
      trees.onWrite(p, key, previous, next),
    );
    const replica = new Replica(tracked, log, metrics);
    handoff = new Handoff({
      storage: tracked,
      view,
      links,
      liveness,
      log,
      metrics,
      options: {
        hintAgeMaxMs: config.hintAgeMaxMs,
        hintsPerTargetMax: config.hintsPerTargetMax,
        handoffRatePerSecond: config.handoffRate,
        handoffIntervalMs: handoffIntervalMs,
      },
    });
    const delivery = handoff;
    gossiper.onUp(() => delivery.kick());
    metrics.trackPendingHints(() => storage.hintCounts());
    const coordinator = new Coordinator({
      selfId: config.id,
      actor,
      storage: tracked,
      replica,
      links,
      liveness,
      log,
      metrics,
    });
    antiEntropy = new AntiEntropy({
      selfId: config.id,
      storage: tracked,
      trees,
      view,
      replica,
      links,
      liveness,
      log,
      metrics,
      options: {
        intervalMs: config.aeIntervalMs,
        ratePerSecond: config.aeRate,
        tombstoneGraceMs: config.tombstoneGraceMs,
      },
    });
    const kv = new KvHandler(view, coordinator, links, metrics, liveness, {
      ...config,
      replicas: config.replicas,
    });
    const inflight = new InflightTracker();
    grpc = await startGrpcServer(
      {
        view,
        kv,
        gossip: gossiper,
        antiEntropy,
        linkHandler: linkHandler(kv, replica, handoff, antiEntropy),
        linkLimits: linkLimitsDefault,
        metrics,
        log,
        requestTimeoutMs: config.requestTimeoutMs,
        inflight,
      },
      config.listen,
    );
    if (config.metricsListen !== '') {
      const [host, port] = splitHostPort(config.metricsListen);
      http = await metrics.serve(host, port);
    }
    gossiper.start();
    handoff.start();
    antiEntropy.start();
    grpc.health.setStatus('', 'SERVING');
    grpc.health.setStatus('ringstore.v1.KV', 'SERVING');
    log.info(
      {
        listen: config.listen,
        port: grpc.port,
        actor,
        nodes: config.nodes.length,
        partitions: config.partitions,
        replicas: config.replicas,
      },
      'node serving',
    );
    const running = grpc;
    const ownLinks = links;
    const roles = { gossiper, handoff, antiEntropy };
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= shutdown({
        grpc: running,
        http,
        links: ownLinks,
        ...roles,
        storage,
        inflight,
        log,
        timeoutMs: config.shutdownTimeoutMs,
      });
      return stopping;
    };
    return { port: grpc.port, actor, metrics, stop };
  } catch (e) {
    gossiper?.stop();
    await handoff?.stop();
    await antiEntropy?.stop();
    links?.close();
    grpc?.server.forceShutdown();
    http?.close();
    await storage.close();
    throw e;
  }
}

async function shutdown(parts: {
  grpc: RunningServer;
  http: HttpServer | undefined;
  links: PeerLinks;
  gossiper: Gossiper;
  handoff: Handoff;
  antiEntropy: AntiEntropy;
  storage: StorageEngine;
  inflight: InflightTracker;
  log: Logger;
  timeoutMs: number;
}): Promise<void> {
  parts.log.info('shutting down: finishing in-flight requests');
  parts.grpc.health.setStatus('', 'NOT_SERVING');
  parts.grpc.health.setStatus('ringstore.v1.KV', 'NOT_SERVING');
  const startedMs = Date.now();
  parts.gossiper.stop();
  await parts.handoff.stop();
  await parts.antiEntropy.stop();
  await parts.inflight.drain(parts.timeoutMs);
  // What arrives from now on is refused with GOAWAY (UNAVAILABLE), never cut off (CANCELLED).
  await parts.grpc.shutdown(Math.max(100, parts.timeoutMs - (Date.now() - startedMs)));
  parts.links.close();
  parts.http?.close();
  await parts.storage.close();
  parts.log.info('stopped');
}

export function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i), Number(hostPort.slice(i + 1))];
}
