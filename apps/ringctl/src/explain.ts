// ringctl explain KEY: where the ring puts one key and what each node holds of it. The node given
// with --node answers first (it checks the key and names the partition, the primaries and the
// preference list as its failure detector sees them); then every serving member of its ring is
// asked (Cluster.InspectKey, each node's own state only), and `explainKey` (pure) compares the
// answers and says what is wrong, if anything, in one line.
import type { Dot, InspectedSibling, KeyInspection, Node } from '@ringstore/proto';
import type { Command } from 'commander';
import type { Bind } from './cli-types.js';
import { serving } from './cluster-commands.js';
import { keyBytes, type CommandContext } from './commands.js';
import { exitCode, RpcError, type ExitCode } from './errors.js';
import { explainJson, formatExplainHuman } from './format-explain.js';
import { isUnreachable } from './rpc.js';

/**
 * Members asked at once: each call is one small answer, but a ring of many members should not
 * open a connection to every one of them at the same moment from one CLI process.
 */
export const membersAskedAtOnceMax = 16;

/** One node's answer: its inspection, or why there is none. */
export type Answer =
  | { readonly node: string; readonly ok: true; readonly inspection: KeyInspection }
  | {
      readonly node: string;
      readonly ok: false;
      /** Down, partitioned or too slow (UNAVAILABLE, DEADLINE_EXCEEDED), not a refusal. */
      readonly unreachable: boolean;
      /** The gRPC status name, e.g. UNAVAILABLE, and the whole message. */
      readonly status: string;
      readonly error: string;
    };

export type Role = 'primary' | 'fallback' | 'other';

/** What one node holds of the key, compared with the others. */
export interface ReplicaReport {
  readonly node: string;
  readonly role: Role;
  /** Primaries: up in the asked node's preference list; fallbacks: the primary it stands in for. */
  readonly up: boolean;
  readonly hintFor: string | undefined;
  readonly answer: Answer | undefined;
  /** Dots the copies hold together that this node lacks (found or missing); undefined: no answer or corrupt. */
  readonly missingDots: readonly Dot[] | undefined;
  /** Sum of the counters this node lacks: how many dots it is behind. */
  readonly behindDots: number | undefined;
}

/** A hint some node holds for the key. */
export interface HintReport {
  readonly holder: string;
  readonly target: string;
  readonly createdAtMs: bigint;
  readonly clock: readonly Dot[];
}

export interface Explanation {
  /** The node --node named, and its answer: where the key goes. */
  readonly asked: KeyInspection;
  readonly replicas: readonly ReplicaReport[];
  readonly hints: readonly HintReport[];
  /** Nodes that hold more hints than they looked through. */
  readonly hintsTruncated: readonly string[];
  /** Every dot any copy holds, per actor (the context a read of every copy would return). */
  readonly clock: readonly Dot[];
  /** Live values a read of every copy would return (tombstones not counted). */
  readonly siblings: number;
  /** Every value that would survive is a tombstone: the key is deleted. */
  readonly deleted: boolean;
  /** The primaries' Merkle segment hashes agree (undefined: fewer than two trees answered). */
  readonly segmentsAgree: boolean | undefined;
  readonly consistent: boolean;
  readonly verdict: string;
}

export function addExplainCommand(program: Command, bind: Bind): void {
  program
    .command('explain')
    .description(
      "one key across the cluster: its ring position, partition and preference list, each node's " +
        'copy (siblings and their dots, behind or not), hints held for it, its Merkle segment, ' +
        'and a one-line verdict',
    )
    .argument('<key>', 'the key, as get takes it (UTF-8 text, or hex with --key-hex)')
    .action(bind((context, _raw, [key]) => explainCommand(context, key ?? '')));
}

export async function explainCommand(context: CommandContext, key: string): Promise<ExitCode> {
  const { cluster, io, options } = context;
  const bytes = keyBytes(key, options);
  // The asked node checks the key first: a refusal (INVALID_ARGUMENT) ends the command.
  const asked = await cluster.inspectKey(bytes);
  const ring = await cluster.getRing();
  const others = serving(ring).filter((node) => node.id !== asked.node);
  const answers = [
    { node: asked.node, ok: true as const, inspection: asked },
    ...(await askAll(context, others, bytes)),
  ];
  const explanation = explainKey(asked, answers);
  if (options.json) io.stdout.write(JSON.stringify(explainJson(key, explanation)) + '\n');
  else io.stdout.write(formatExplainHuman(key, explanation));
  return exitCode.ok;
}

async function askAll(
  context: CommandContext,
  nodes: readonly Node[],
  key: Buffer,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < nodes.length; i += membersAskedAtOnceMax) {
    const batch = nodes.slice(i, i + membersAskedAtOnceMax);
    answers.push(...(await Promise.all(batch.map((node) => askOne(context, node, key)))));
  }
  return answers;
}

async function askOne(context: CommandContext, node: Node, key: Buffer): Promise<Answer> {
  const api = context.dial(node.address);
  try {
    return { node: node.id, ok: true, inspection: await api.inspectKey(key) };
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    const unreachable = isUnreachable(error);
    return {
      node: node.id,
      ok: false,
      unreachable,
      status: error.statusName,
      error: error.message,
    };
  } finally {
    api.close();
  }
}

/**
 * Compares the answers (pure): `asked` names the primaries and the preference list; `answers`
 * holds every node's answer (asked's included). Copies are compared by their clocks: a node
 * lacking dots another copy holds is behind.
 */
export function explainKey(asked: KeyInspection, answers: readonly Answer[]): Explanation {
  const byNode = new Map(answers.map((answer) => [answer.node, answer]));
  const found = answers.flatMap((a) => (a.ok && a.inspection.objectState === 'found' ? [a] : []));
  const clock = unionClock(found.map((a) => a.inspection.clock));
  const survivors = survivingSiblings(found.map((a) => a.inspection));
  const placed = roles(asked);
  // Any other node holding a copy: a fallback's copy of an earlier write, say.
  for (const a of found)
    if (!placed.some((p) => p.node === a.node))
      placed.push({ node: a.node, role: 'other', up: true, hintFor: undefined });
  const replicas = placed.map(({ node, role, up, hintFor }) =>
    report(node, role, up, hintFor, byNode.get(node), clock),
  );
  const hints = answers.flatMap((a) =>
    a.ok ? a.inspection.hints.map((h) => ({ holder: a.node, ...h })) : [],
  );
  const partial = {
    asked,
    replicas,
    hints,
    hintsTruncated: answers.flatMap((a) => (a.ok && a.inspection.hintsTruncated ? [a.node] : [])),
    clock,
    siblings: survivors.filter((s) => !s.tombstone).length,
    deleted: survivors.length > 0 && survivors.every((s) => s.tombstone),
    segmentsAgree: segmentsAgree(replicas),
  };
  const { consistent, verdict } = verdictOf(partial);
  return { ...partial, consistent, verdict };
}

interface Placement {
  readonly node: string;
  readonly role: Role;
  readonly up: boolean;
  readonly hintFor: string | undefined;
}

/** The primaries in order, then the fallbacks of the preference list. */
function roles(asked: KeyInspection): Placement[] {
  const placements: Placement[] = asked.primaries.map((node) => ({
    node,
    role: 'primary',
    up: asked.preferenceList.some((e) => e.node === node && e.hintFor === ''),
    hintFor: undefined,
  }));
  for (const entry of asked.preferenceList)
    if (entry.hintFor !== '')
      placements.push({ node: entry.node, role: 'fallback', up: true, hintFor: entry.hintFor });
  return placements;
}

function report(
  node: string,
  role: Role,
  up: boolean,
  hintFor: string | undefined,
  answer: Answer | undefined,
  clock: readonly Dot[],
): ReplicaReport {
  const state = answer?.ok === true ? answer.inspection.objectState : undefined;
  if (answer === undefined || !answer.ok || state === 'corrupt')
    return { node, role, up, hintFor, answer, missingDots: undefined, behindDots: undefined };
  const own = state === 'found' ? answer.inspection.clock : [];
  const missingDots = lacking(clock, own);
  const behindDots = missingDots.reduce((n, dot) => n + Number(dot.counter), 0);
  return { node, role, up, hintFor, answer, missingDots, behindDots };
}

/** Per actor, the highest counter any clock has seen; sorted by actor. */
export function unionClock(clocks: readonly (readonly Dot[])[]): Dot[] {
  const highest = new Map<string, bigint>();
  for (const clock of clocks)
    for (const { actor, counter } of clock)
      if (counter > (highest.get(actor) ?? 0n)) highest.set(actor, counter);
  return [...highest]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([actor, counter]) => ({ actor, counter }));
}

/** What `own` lacks of `union`: per actor, how many counters (as a Dot of that many). */
function lacking(union: readonly Dot[], own: readonly Dot[]): Dot[] {
  const mine = new Map(own.map((dot) => [dot.actor, dot.counter]));
  return union.flatMap(({ actor, counter }) => {
    const gap = counter - (mine.get(actor) ?? 0n);
    return gap > 0n ? [{ actor, counter: gap }] : [];
  });
}

const dotKey = (dot: Dot): string => `${dot.actor}\u0000${dot.counter}`;

/**
 * The values a merge (DVVSet sync) of every copy keeps: a dotted value survives unless a copy has
 * seen its dot (its clock covers it) and no longer holds it, i.e. a later write superseded it.
 */
function survivingSiblings(copies: readonly KeyInspection[]): InspectedSibling[] {
  const survivors = new Map<string, InspectedSibling>();
  for (const copy of copies)
    for (const sibling of copy.siblings) {
      const { dot } = sibling;
      if (dot === undefined) continue;
      const superseded = copies.some(
        (other) =>
          other.clock.some((d) => d.actor === dot.actor && d.counter >= dot.counter) &&
          !other.siblings.some((s) => s.dot !== undefined && dotKey(s.dot) === dotKey(dot)),
      );
      if (!superseded) survivors.set(dotKey(dot), sibling);
    }
  return [...survivors.values()];
}

function segmentsAgree(replicas: readonly ReplicaReport[]): boolean | undefined {
  const hashes = replicas.flatMap((r) =>
    r.role === 'primary' && r.answer?.ok === true && r.answer.inspection.treeBuilt
      ? [r.answer.inspection.segmentHash]
      : [],
  );
  return hashes.length < 2 ? undefined : hashes.every((h) => h === hashes[0]);
}

type VerdictInput = Omit<Explanation, 'consistent' | 'verdict'>;

/**
 * The one-line verdict (pure), from the primaries' answers: who did not answer, who is corrupt,
 * missing or behind (and what will fix it), hints held, siblings a client must resolve. Consistent
 * means every primary answered with the same clock and at most one live value.
 */
export function verdictOf(input: VerdictInput): { consistent: boolean; verdict: string } {
  const primaries = input.replicas.filter((r) => r.role === 'primary');
  const n = primaries.length;
  const answered = primaries.filter((r) => r.answer?.ok === true);
  const parts: string[] = [];
  const silent = primaries.filter((r) => r.answer?.ok !== true).map(silentPart);
  if (silent.length > 0) parts.push(`${silent.join(', ')}: ${answered.length}/${n} answered`);
  const stale = stalePart(answered, input.clock.length === 0);
  if (stale !== undefined) parts.push(stale);
  parts.push(...hintParts(input));
  if (input.clock.length === 0) {
    if (answered.length > 0) parts.push(`not found on ${answered.length}/${n}`);
    return { consistent: false, verdict: parts.join('; ') };
  }
  if (input.siblings > 1)
    parts.push(`siblings: ${input.siblings}, resolve with a put carrying the context`);
  const agree = silent.length === 0 && stale === undefined;
  if (agree && input.segmentsAgree === false)
    parts.push('Merkle segment differs (another key of the segment): anti-entropy will fix it');
  const consistent = agree && input.siblings <= 1 && input.segmentsAgree !== false;
  if (consistent) {
    const deleted = input.deleted ? ' (deleted: a tombstone)' : '';
    parts.unshift(`consistent on ${answered.length}/${n}${deleted}`);
  } else if (silent.length > 0 && stale === undefined && answered.length > 1)
    parts.splice(1, 0, `the ${answered.length} that answered agree`);
  return { consistent, verdict: parts.join('; ') };
}

function silentPart(r: ReplicaReport): string {
  const answer = r.answer;
  if (answer === undefined) return `${r.node} not asked (not a serving member)`;
  if (answer.ok || answer.unreachable) return `${r.node} down`;
  return `${r.node} failed (${answer.status})`;
}

/** "missing on n3, n2 behind by 1 dot: read repair or anti-entropy will fix it", or undefined. */
function stalePart(answered: readonly ReplicaReport[], nowhere: boolean): string | undefined {
  const notes: string[] = [];
  for (const r of answered) {
    const state = r.answer?.ok === true ? r.answer.inspection.objectState : '';
    if (state === 'corrupt') notes.push(`corrupt on ${r.node}`);
    else if (state === 'missing' && !nowhere) notes.push(`missing on ${r.node}`);
    else if ((r.behindDots ?? 0) > 0)
      notes.push(`${r.node} behind by ${r.behindDots} dot${r.behindDots === 1 ? '' : 's'}`);
  }
  if (notes.length === 0) return undefined;
  return `${notes.join(', ')}: read repair or anti-entropy will fix it`;
}

/** "hint for n3 held by n4" per target, with when handoff delivers it. */
function hintParts(input: VerdictInput): string[] {
  const holders = new Map<string, Set<string>>();
  for (const h of input.hints)
    holders.set(h.target, (holders.get(h.target) ?? new Set()).add(h.holder));
  return [...holders].map(([target, held]) => {
    const up = input.replicas.some((r) => r.node === target && r.up && r.answer?.ok === true);
    const when = up ? 'handoff will deliver it' : `handoff delivers it once ${target} is up`;
    return `hint for ${target} held by ${[...held].join(', ')}: ${when}`;
  });
}
