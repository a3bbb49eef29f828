// Human and --json renderings of `ringctl explain`. Pure: an Explanation in, text out.
import type { Dot, InspectedSibling } from '@ringstore/proto';
import type { Answer, Explanation, HintReport, ReplicaReport } from './explain.js';
import { jsonInteger } from './format-anti-entropy.js';

/** Hex digits of a digest or segment hash shown in the human output (enough to compare). */
export const hashHexShownMax = 12;

export function formatDot(dot: Dot): string {
  return `${dot.actor}:${dot.counter}`;
}

function formatClock(clock: readonly Dot[]): string {
  return clock.length === 0 ? '(empty)' : clock.map(formatDot).join(' ');
}

function short(hex: string): string {
  return hex.slice(0, hashHexShownMax);
}

export function formatExplainHuman(key: string, e: Explanation): string {
  const { asked } = e;
  const lines = [
    `key: ${key}`,
    `position: ${asked.position} (partition ${asked.partition}, ring term ${asked.ringTerm} ` +
      `version ${asked.ringVersion}, as ${asked.node} sees it)`,
    `preference list: ${preferenceText(e)}`,
  ];
  for (const r of e.replicas) lines.push(...replicaLines(r, e.segmentsAgree));
  lines.push(...hintLines(e.hints, e.hintsTruncated));
  lines.push(`verdict: ${e.verdict}`);
  return lines.join('\n') + '\n';
}

function preferenceText(e: Explanation): string {
  return e.replicas
    .filter((r) => r.role === 'primary')
    .map((r) => {
      const fallback = e.replicas.find((f) => f.role === 'fallback' && f.hintFor === r.node);
      if (r.up) return `${r.node} (up)`;
      return fallback === undefined
        ? `${r.node} (down, no fallback)`
        : `${r.node} (down) -> ${fallback.node} (fallback)`;
    })
    .join(', ');
}

function roleText(r: ReplicaReport): string {
  if (r.role === 'fallback') return `fallback for ${r.hintFor ?? '?'}`;
  if (r.role === 'other') return 'not a replica, holds a copy';
  return r.up ? 'primary, up' : 'primary, down';
}

function replicaLines(r: ReplicaReport, segmentsAgree: boolean | undefined): string[] {
  const answer = r.answer;
  const head = `${r.node} (${roleText(r)}): `;
  if (answer === undefined) return [head + 'not asked (not a serving member of the ring)'];
  if (!answer.ok) return [head + `no answer (${answer.error})`];
  const i = answer.inspection;
  const lines = [head + stateText(r, answer)];
  if (i.objectState === 'found') {
    lines.push(`  clock: ${formatClock(i.clock)}`);
    lines.push(`  siblings: ${i.siblings.map(siblingText).join(', ')}`);
  }
  if (i.treeBuilt) {
    const agreement =
      r.role !== 'primary' || segmentsAgree === undefined
        ? ''
        : segmentsAgree
          ? ' (agrees)'
          : ' (replicas differ)';
    lines.push(`  merkle segment: ${i.segment} ${short(i.segmentHash)}${agreement}`);
  } else if (r.role === 'primary') lines.push('  merkle segment: no tree built');
  return lines;
}

function stateText(r: ReplicaReport, answer: Extract<Answer, { ok: true }>): string {
  const i = answer.inspection;
  if (i.objectState === 'corrupt') return `corrupt (${i.corruptReason})`;
  const behind =
    r.behindDots === undefined || r.behindDots === 0
      ? ''
      : `, behind by ${r.behindDots} dot${r.behindDots === 1 ? '' : 's'} ` +
        `(lacks ${(r.missingDots ?? []).map(formatDot).join(' ')})`;
  if (i.objectState !== 'found') return `${i.objectState}${behind}`;
  const values = i.siblings.length === 1 ? '1 value' : `${i.siblings.length} values`;
  return `found, ${values}, ${i.objectBytes} bytes, digest ${short(i.objectDigest)}${behind}`;
}

function siblingText(s: InspectedSibling): string {
  const dot = s.dot === undefined ? '(no dot)' : formatDot(s.dot);
  return s.tombstone ? `${dot} tombstone` : `${dot} ${s.valueBytes} bytes`;
}

function hintLines(hints: readonly HintReport[], truncated: readonly string[]): string[] {
  const lines =
    hints.length === 0
      ? ['hints: none held for this key']
      : hints.map(
          (h) => `hint: ${h.holder} holds one for ${h.target} (clock ${formatClock(h.clock)})`,
        );
  if (truncated.length > 0)
    lines.push(`hints: ${truncated.join(', ')} hold more hints than were looked through`);
  return lines;
}

const dotJson = (dot: Dot) => ({ actor: dot.actor, counter: jsonInteger(dot.counter) });

function replicaJson(r: ReplicaReport) {
  const answer = r.answer;
  const base = {
    node: r.node,
    role: r.role,
    up: r.up,
    hintFor: r.hintFor ?? null,
    answered: answer?.ok === true,
    error: answer === undefined ? 'not asked' : answer.ok ? null : answer.error,
    behindDots: r.behindDots ?? null,
    missingDots: r.missingDots?.map(dotJson) ?? null,
  };
  if (answer?.ok !== true) return { ...base, object: null };
  const i = answer.inspection;
  return {
    ...base,
    object: {
      state: i.objectState,
      corruptReason: i.corruptReason === '' ? null : i.corruptReason,
      bytes: jsonInteger(i.objectBytes),
      digest: i.objectDigest === '' ? null : i.objectDigest,
      clock: i.clock.map(dotJson),
      siblings: i.siblings.map((s) => ({
        dot: s.dot === undefined ? null : dotJson(s.dot),
        tombstone: s.tombstone,
        valueBytes: jsonInteger(s.valueBytes),
        timestampMs: jsonInteger(s.timestampMs),
      })),
    },
    merkle: i.treeBuilt ? { segment: i.segment, segmentHash: i.segmentHash } : null,
  };
}

/** The --json document: every field of the human output, hashes and actors in full. */
export function explainJson(key: string, e: Explanation) {
  const { asked } = e;
  return {
    key,
    position: asked.position,
    partition: asked.partition,
    ring: { term: jsonInteger(asked.ringTerm), version: jsonInteger(asked.ringVersion) },
    askedNode: asked.node,
    primaries: asked.primaries,
    preferenceList: asked.preferenceList.map((p) => ({
      node: p.node,
      hintFor: p.hintFor === '' ? null : p.hintFor,
    })),
    replicas: e.replicas.map(replicaJson),
    hints: e.hints.map((h) => ({
      holder: h.holder,
      target: h.target,
      createdAtMs: jsonInteger(h.createdAtMs),
      clock: h.clock.map(dotJson),
    })),
    hintsTruncated: e.hintsTruncated,
    clock: e.clock.map(dotJson),
    siblings: e.siblings,
    deleted: e.deleted,
    segmentsAgree: e.segmentsAgree ?? null,
    consistent: e.consistent,
    verdict: e.verdict,
  };
}
