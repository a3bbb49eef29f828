// The membership nemesis at run time: starts the new nodes (each in its own namespace under
// netns), kills a node to be replaced as dead, stages the change at the claimant, plans and commits
// it, puts a mid-transfer fault on a party of a streaming transfer, and waits for the transition to
// end (one ring version on every live node, no transfers) and for a leaving node to exit 0.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Change, Ring } from '@ringstore/proto';
import type { Cluster } from '../cluster.js';
import { changes, detailsOf, type ClusterRpc } from './cluster-rpc.js';
import {
  departing,
  newNodes,
  type MembershipChange,
  type MembershipFault,
  type MidTransfer,
} from './membership-schedule.js';
import type { Network } from './network.js';

export interface MembershipDeps {
  readonly cluster: Cluster;
  readonly network: Network;
  /** Milliseconds since the start of the workload. */
  readonly nowMs: () => number;
  readonly log: (line: string) => void;
  /**
   * Nodes out of the cluster for good: left or replaced (they exit by themselves), replaced as
   * dead (killed), or started for a change that failed (killed). Never restarted or waited for.
   */
  readonly departed: Set<string>;
  /** The Cluster RPCs, as the harness reaches the nodes. */
  readonly rpc: ClusterRpc;
  /**
   * Called for each node a change adds, before it starts, with the address it will listen on
   * (undefined: the launcher picks one on 127.0.0.1): makes its certificate in a secured run.
   */
  readonly prepareNode: (id: string, address: string | undefined) => Promise<void>;
}

/** What one membership window did, for the report. */
export interface TransitionRecord {
  /** Ring versions before the commit and once the transition ended. */
  readonly versionBefore?: number | undefined;
  readonly versionAfter?: number | undefined;
  /** When the change was committed and when every live node showed it done. */
  readonly committedMs?: number | undefined;
  readonly doneMs?: number | undefined;
  /** What the mid-transfer fault did (or why it did nothing). */
  readonly midTransfer?: string | undefined;
  /** The exit code of the node that left or was replaced live. */
  readonly exitCode?: number | null | undefined;
  /** What went wrong, if anything. */
  readonly error?: string | undefined;
}

/** Bound on staging and committing while an earlier transition still runs (staging is refused then). */
export const stageWaitMs = 60_000;
/** Between staging attempts so refused. */
const stageRetryMs = 1_000;
/** Bound on a transition: the smoke's transfers take seconds; minutes mean it is stuck. */
export const transitionWaitMs = 180_000;
/** Between polls of the rings and transfers. */
const pollMs = 250;
/** Bound on the claimant seeing a killed node down (phi accrual over a few gossip intervals). */
const seenDownWaitMs = 30_000;
/** Bound on a leaving node's exit once its transition ended: it hands off its hints first. */
const exitWaitMs = 60_000;
/** Bound on finding a transfer streaming, for the mid-transfer fault. */
const streamingWaitMs = 30_000;
/** After each kill of the prelude: the restarted node is seen up before the next goes down. */
const preludeGapMs = 1_000;
/** Most polls of any wait here: every wait is also bounded in time, far below this. */
const pollsMax = 100_000;

/** Makes the change and waits for its end. Never throws: a failure is the record's error. */
export async function changeMembership(
  fault: MembershipFault,
  deps: MembershipDeps,
): Promise<TransitionRecord> {
  const record: { -readonly [K in keyof TransitionRecord]: TransitionRecord[K] } = {};
  const leaving = departing(fault.change);
  try {
    const claimant = await findClaimant(deps);
    if (leaving !== undefined && leaving === claimant.id)
      throw new Error(`${leaving} is the claimant: it cannot leave or be replaced`);
    if (leaving !== undefined && !deps.cluster.node(leaving).running)
      throw new Error(`${leaving} is not running`);
    if (fault.preludeMs !== undefined) await prelude(fault.preludeMs, deps);
    const staged = await prepare(fault.change, deps);
    const versions = await stageAndCommit(staged, deps);
    record.versionBefore = versions.before;
    record.committedMs = deps.nowMs();
    if (leaving !== undefined) deps.departed.add(leaving);
    if (fault.midTransfer !== undefined)
      record.midTransfer = await midTransfer(fault.midTransfer, deps);
    record.versionAfter = await waitTransition(deps, transitionWaitMs);
    record.doneMs = deps.nowMs();
    if (fault.change.type !== 'join' && !(fault.change.type === 'replace' && fault.change.dead)) {
      record.exitCode = await deps.cluster.waitExit(leaving as string, exitWaitMs);
      if (record.exitCode !== 0) record.error = `${leaving} exited with code ${record.exitCode}`;
    }
  } catch (e) {
    record.error = detailsOf(e);
    if (record.committedMs === undefined) await abandon(fault.change, deps);
  }
  return record;
}

/** Starts the nodes the change adds (and kills the one a dead replace replaces); the changes to stage. */
async function prepare(change: MembershipChange, deps: MembershipDeps): Promise<Change[]> {
  if (change.type === 'leave') return [changes.leave(change.id)];
  const ids = change.type === 'join' ? change.ids : [change.id];
  const added: { address: string; peerAddress: string }[] = [];
  for (const id of ids) {
    const place = await deps.network.addNode(id);
    await deps.prepareNode(id, place);
    added.push(await deps.cluster.addNode(id, place));
  }
  if (change.type === 'join')
    return ids.map((id, i) => changes.join(id, added[i]!.address, added[i]!.peerAddress));
  if (change.dead) {
    deps.departed.add(change.old);
    await deps.cluster.kill(change.old);
    await seenDown(change.old, deps);
  }
  const [node] = added;
  if (node === undefined) throw new Error(`replace ${change.old}: no node was started`);
  return [changes.replace(change.old, change.id, node.address, node.peerAddress, change.dead)];
}

/** The claimant as some running node's ring names it. */
async function findClaimant(deps: MembershipDeps): Promise<{ id: string; address: string }> {
  let last: unknown = new Error('no node is running');
  for (const node of live(deps)) {
    try {
      const ring = await deps.rpc.ring(node.address);
      const claimant = ring.nodes.find((n) => n.id === ring.claimant);
      if (claimant !== undefined) return { id: claimant.id, address: claimant.address };
      last = new Error(`${node.id}'s ring names claimant ${ring.claimant}, not a node of it`);
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`no claimant found: ${detailsOf(last)}`);
}

/** Running nodes still in the cluster. */
function live(deps: MembershipDeps): { id: string; address: string }[] {
  return deps.cluster.nodes.filter((n) => n.running && !deps.departed.has(n.id));
}

/**
 * Stages every change at the claimant, plans and commits; a refusal because a transition still
 * runs (or the claimant moved or restarts) clears what was staged and tries again, within
 * stageWaitMs.
 */
async function stageAndCommit(
  staged: readonly Change[],
  deps: MembershipDeps,
): Promise<{ before: number | undefined }> {
  const giveUpMs = Date.now() + stageWaitMs;
  let refusal = 'no attempt';
  for (let attempt = 1; attempt <= pollsMax; attempt++) {
    let claimant = '';
    try {
      claimant = (await findClaimant(deps)).address;
      for (const c of staged) await deps.rpc.stage(claimant, c);
      const plan = await deps.rpc.plan(claimant);
      await deps.rpc.commit(claimant);
      return { before: versionOf(plan.current) };
    } catch (e) {
      if (claimant !== '') await deps.rpc.clear(claimant).catch(() => undefined);
      const retry = /transition|not the claimant|UNAVAILABLE|DEADLINE|no claimant/i.test(
        `${detailsOf(e)} ${(e as Error).message}`,
      );
      refusal = `attempt ${attempt}: ${detailsOf(e)}`;
      if (!retry || Date.now() + stageRetryMs > giveUpMs) break;
      await sleep(stageRetryMs);
    }
  }
  throw new Error(`staging refused (${refusal})`);
}

/**
 * Undoes a change that was not committed: kills the nodes started for it (they join nothing) and
 * restarts a node killed to be replaced as dead (it is still a member).
 */
async function abandon(change: MembershipChange, deps: MembershipDeps): Promise<void> {
  for (const id of newNodes(change)) {
    if (!deps.cluster.nodes.some((n) => n.id === id)) continue;
    deps.departed.add(id);
    await deps.cluster.kill(id).catch(() => undefined);
  }
  if (change.type === 'replace' && change.dead && deps.departed.delete(change.old))
    await deps.cluster.restart(change.old).catch((e: unknown) => {
      deps.log(`nemesis: restarting ${change.old} after the failed replace: ${detailsOf(e)}`);
    });
}

function versionOf(ring: Ring | undefined): number | undefined {
  return ring === undefined ? undefined : Number(ring.version);
}

/** Waits until the claimant's failure detector reports the node down. */
async function seenDown(id: string, deps: MembershipDeps): Promise<void> {
  const giveUpMs = Date.now() + seenDownWaitMs;
  for (let i = 0; i < pollsMax && Date.now() < giveUpMs; i++) {
    const claimant = await findClaimant(deps).catch(() => undefined);
    const members =
      claimant === undefined ? [] : await deps.rpc.members(claimant.address).catch(() => []);
    if (members.some((m) => m.node?.id === id && !m.alive)) return;
    await sleep(pollMs);
  }
  throw new Error(`the claimant did not see ${id} down within ${seenDownWaitMs} ms`);
}

/**
 * Waits until every live node holds the same ring version with no transfers and no member
 * joining or leaving; that version.
 */
export async function waitTransition(deps: MembershipDeps, boundMs: number): Promise<number> {
  const giveUpMs = Date.now() + boundMs;
  let state = 'no poll yet';
  for (let i = 0; i < pollsMax && Date.now() < giveUpMs; i++) {
    const nodes = live(deps);
    const rings = await Promise.all(
      nodes.map((n) => deps.rpc.ring(n.address).catch(() => undefined)),
    );
    state = transitionState(nodes.map((n, k) => [n.id, rings[k]] as const));
    if (state === 'done') return Number(rings[0]?.version ?? 0n);
    await sleep(pollMs);
  }
  throw new Error(`the transition did not end within ${boundMs} ms: ${state}`);
}

/** 'done', or what still runs. Pure. */
export function transitionState(rings: readonly (readonly [string, Ring | undefined])[]): string {
  if (rings.length === 0) return 'no live node';
  const silent = rings.filter(([, r]) => r === undefined).map(([id]) => id);
  if (silent.length > 0) return `no ring from ${silent.join(' ')}`;
  const versions = new Set(rings.map(([, r]) => r?.version));
  if (versions.size > 1)
    return `versions differ: ${rings.map(([id, r]) => `${id} v${r?.version}`).join(', ')}`;
  const ring = rings[0]?.[1] as Ring;
  if (ring.transfers.length > 0) return `${ring.transfers.length} transfers at v${ring.version}`;
  const moving = ring.nodes.filter((n) => n.status === 'joining' || n.status === 'leaving');
  if (moving.length > 0) return `${moving.map((n) => `${n.id} ${n.status}`).join(', ')}`;
  return 'done';
}

/** Before the change: each live node in turn killed -9 for ms, restarted, given a moment. */
async function prelude(ms: number, deps: MembershipDeps): Promise<void> {
  for (const node of live(deps)) {
    await deps.cluster.kill(node.id);
    await sleep(ms);
    await deps.cluster.restart(node.id);
    await sleep(preludeGapMs);
  }
}

/** The parties of a transfer seen streaming (or catching up), within streamingWaitMs. */
async function streamingTransfer(
  deps: MembershipDeps,
): Promise<{ receiver: string; source: string; partition: number } | undefined> {
  const giveUpMs = Date.now() + streamingWaitMs;
  for (let i = 0; i < pollsMax && Date.now() < giveUpMs; i++) {
    for (const node of live(deps)) {
      const res = await deps.rpc.transfers(node.address).catch(() => undefined);
      const t = res?.transfers.find(
        (x) => (x.state === 'streaming' || x.state === 'catch-up') && x.from !== '',
      );
      if (t !== undefined) return { receiver: t.to, source: t.from, partition: t.partition };
    }
    const rings = await Promise.all(
      live(deps).map(
        async (n) => [n.id, await deps.rpc.ring(n.address).catch(() => undefined)] as const,
      ),
    );
    if (transitionState(rings) === 'done') return undefined;
    await sleep(pollMs / 5);
  }
  return undefined;
}

/** Puts the mid-transfer fault on the party once a transfer streams, holds it, undoes it. */
async function midTransfer(m: MidTransfer, deps: MembershipDeps): Promise<string> {
  const unavailable = m.kind === 'partition' ? deps.network.unavailable('partition') : undefined;
  if (unavailable !== undefined) return `mid-transfer partition skipped: ${unavailable}`;
  const t = await streamingTransfer(deps);
  if (t === undefined) return 'no transfer was seen streaming: no mid-transfer fault';
  const id = m.party === 'receiver' ? t.receiver : t.source;
  const what = `${id} (${m.party} of partition ${t.partition}, ${t.source} -> ${t.receiver})`;
  const atS = (deps.nowMs() / 1000).toFixed(1);
  if (m.kind === 'kill') {
    await deps.cluster.kill(id);
    await sleep(m.holdMs);
    await deps.cluster.restart(id);
    return `kill -9 ${what} at ${atS} s, restarted after ${m.holdMs} ms`;
  }
  if (m.kind === 'pause') {
    process.kill(deps.cluster.node(id).pid, 'SIGSTOP');
    try {
      await sleep(m.holdMs);
    } finally {
      process.kill(deps.cluster.node(id).pid, 'SIGCONT');
    }
    return `SIGSTOP ${what} at ${atS} s for ${m.holdMs} ms`;
  }
  const others = live(deps)
    .map((n) => n.id)
    .filter((x) => x !== id);
  await deps.network.drop(
    others.flatMap((o) => [
      { from: o, to: id },
      { from: id, to: o },
    ]),
  );
  try {
    await sleep(m.holdMs);
  } finally {
    await deps.network.heal();
  }
  return `cut off ${what} at ${atS} s for ${m.holdMs} ms`;
}
