// Summarises a V8 CPU profile (node --cpu-prof, or the bench's --profile-dir): the functions with
// the most self time, and with the most inclusive time (time with them on the stack).
// Usage: node apps/bench/dist/profile-top.js FILE.cpuprofile [--top N]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface FunctionTime {
  readonly name: string;
  readonly selfMs: number;
  readonly totalMs: number;
  readonly selfPct: number;
  readonly totalPct: number;
}

/** Deepest stack walked per sample: far beyond any real stack, and a stop on a malformed cycle. */
export const stackDepthMax = 10_000;
/** Functions listed when --top is not given: one screen. */
export const topDefault = 25;

function label(node: ProfileNode): string {
  const f = node.callFrame;
  const name = f.functionName === '' ? '(anonymous)' : f.functionName;
  if (f.url === '') return name;
  const file = f.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(/^.*\/(apps|packages|tools)\//, '$1/');
  return `${name} ${file}:${f.lineNumber + 1}`;
}

export function summarise(profile: CpuProfile): { totalMs: number; functions: FunctionTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    all += dt;
    const leaf = byId.get(id);
    if (!leaf) return;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
    const seen = new Set<string>();
    for (
      let cur: number | undefined = id, guard = 0;
      cur !== undefined && guard < stackDepthMax;
      cur = parent.get(cur), guard++
    ) {
      const node = byId.get(cur);
      if (!node) break;
      const l = label(node);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + dt);
    }
  });
  const pct = (ms: number): number => (all > 0 ? Math.round((ms * 1000) / all) / 10 : 0);
  const functions = [...total.entries()].map(([name, t]) => {
    const s = self.get(name) ?? 0;
    return {
      name,
      selfMs: Math.round(s),
      totalMs: Math.round(t),
      selfPct: pct(s),
      totalPct: pct(t),
    };
  });
  return { totalMs: Math.round(all), functions };
}

function main(argv: readonly string[]): number {
  const file = argv[0];
  const topIndex = argv.indexOf('--top');
  const top = topIndex >= 0 ? Number(argv[topIndex + 1]) : topDefault;
  if (file === undefined || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: profile-top FILE.cpuprofile [--top N]\n');
    return 2;
  }
  const { totalMs, functions } = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const bySelf = [...functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  const ours = [...functions]
    .filter((f) => /^\S+ (apps|packages)\//.test(f.name))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top);
  process.stdout.write(`${file}: ${totalMs} ms sampled\n\nself time:\n`);
  for (const f of bySelf) process.stdout.write(`${String(f.selfPct).padStart(5)}%  ${f.name}\n`);
  process.stdout.write('\ninclusive time, our code:\n');
  for (const f of ours) process.stdout.write(`${String(f.totalPct).padStart(5)}%  ${f.name}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]))
  process.exitCode = main(process.argv.slice(2));
