// The timeline picture of a run: operations per second (acknowledged, per workload) and errors
// (failed and unknown) over time, with the fault windows shaded. Pure: the SVG is written as text.
import type { OpEvent, WorkloadName } from './history.js';

export interface Bucket {
  /** Start of the bucket, since the start of the workload. */
  readonly startMs: number;
  readonly ok: Readonly<Record<WorkloadName, number>>;
  readonly fail: number;
  readonly unknown: number;
}

export interface TimelineWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly label: string;
  /** Not applied on this machine (shown hatched-out, in grey text). */
  readonly skipped: boolean;
}

/** Most buckets in a picture: beyond this the bucket width grows. */
export const bucketsMax = 2_000;

/** Completions counted per bucket of bucketMs, from 0 to durationMs. */
export function bucketize(
  events: readonly OpEvent[],
  durationMs: number,
  bucketMs: number,
): Bucket[] {
  const width = Math.max(bucketMs, Math.ceil(durationMs / bucketsMax));
  const count = Math.max(1, Math.ceil(durationMs / width));
  const buckets = Array.from({ length: count }, (_, i) => ({
    startMs: i * width,
    ok: { 'unique-keys': 0, set: 0, delete: 0 },
    fail: 0,
    unknown: 0,
  }));
  for (const event of events) {
    if (event.type === 'invoke') continue;
    const bucket = buckets[Math.min(count - 1, Math.max(0, Math.floor(event.timeMs / width)))];
    if (bucket === undefined) continue;
    if (event.type === 'ok') bucket.ok[event.workload]++;
    else bucket[event.type]++;
  }
  return buckets;
}

const chart = { width: 960, height: 360, left: 60, right: 20, top: 30, bottom: 70 };
const colors = {
  'unique-keys': '#1f77b4',
  set: '#2ca02c',
  delete: '#9467bd',
  errors: '#d62728',
  fault: '#ff7f0e',
};

/** The SVG text of the timeline. */
export function renderTimelineSvg(
  buckets: readonly Bucket[],
  windows: readonly TimelineWindow[],
  title: string,
): string {
  const widthMs =
    buckets.length > 1 ? (buckets[1]?.startMs ?? 1) - (buckets[0]?.startMs ?? 0) : 1000;
  const durationMs = Math.max(1, buckets.length * widthMs);
  const perSecond = (n: number): number => (n * 1000) / widthMs;
  const series = {
    'unique-keys': buckets.map((b) => perSecond(b.ok['unique-keys'])),
    set: buckets.map((b) => perSecond(b.ok.set)),
    delete: buckets.map((b) => perSecond(b.ok.delete)),
    errors: buckets.map((b) => perSecond(b.fail + b.unknown)),
  };
  const yMax = niceMax(Math.max(1, ...Object.values(series).flat()));
  const plotW = chart.width - chart.left - chart.right;
  const plotH = chart.height - chart.top - chart.bottom;
  const x = (ms: number): number => chart.left + (ms / durationMs) * plotW;
  const y = (v: number): number => chart.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${chart.width}" height="${chart.height}" viewBox="0 0 ${chart.width} ${chart.height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${chart.left}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  windows.forEach((w, i) => parts.push(...windowShapes(w, i, x, plotH)));
  parts.push(...axes(durationMs, yMax, x, y, plotW));
  for (const name of ['unique-keys', 'set', 'delete', 'errors'] as const) {
    const values = series[name];
    if (name !== 'errors' && values.every((v) => v === 0)) continue;
    const points = values
      .map((v, i) => `${x(i * widthMs + widthMs / 2).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<polyline fill="none" stroke="${colors[name]}" stroke-width="1.5" points="${points}"/>`,
    );
  }
  parts.push(...legend());
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** The full description is the rectangle's tooltip; the visible label is its first word, on one of three rows so neighbours do not overlap. */
function windowShapes(
  w: TimelineWindow,
  index: number,
  x: (ms: number) => number,
  plotH: number,
): string[] {
  const x0 = x(w.startMs);
  const width = Math.max(1, x(w.endMs) - x0);
  const fill = w.skipped ? '#dddddd' : colors.fault;
  const label = w.skipped ? `${w.label} (skipped)` : w.label;
  const short = `${w.label.split(' ')[0] ?? ''}${w.skipped ? ' (skipped)' : ''}`;
  return [
    `<rect x="${x0.toFixed(1)}" y="${chart.top}" width="${width.toFixed(1)}" height="${plotH}" fill="${fill}" fill-opacity="0.18"><title>${escapeXml(label)}</title></rect>`,
    `<text x="${(x0 + 2).toFixed(1)}" y="${chart.top + 10 + (index % 3) * 10}" fill="${w.skipped ? '#888888' : '#a0522d'}" font-size="9">${escapeXml(short)}</text>`,
  ];
}

function axes(
  durationMs: number,
  yMax: number,
  x: (ms: number) => number,
  y: (v: number) => number,
  plotW: number,
): string[] {
  const bottom = y(0);
  const parts = [
    `<line x1="${chart.left}" y1="${bottom}" x2="${chart.left + plotW}" y2="${bottom}" stroke="black"/>`,
    `<line x1="${chart.left}" y1="${chart.top}" x2="${chart.left}" y2="${bottom}" stroke="black"/>`,
    `<text x="${chart.left + plotW / 2}" y="${bottom + 32}" text-anchor="middle">time (s)</text>`,
    `<text x="14" y="${chart.top + (bottom - chart.top) / 2}" transform="rotate(-90 14 ${chart.top + (bottom - chart.top) / 2})" text-anchor="middle">operations/s</text>`,
  ];
  const stepS = niceStep(durationMs / 1000 / 10);
  for (let s = 0; s * 1000 <= durationMs && s <= 100_000; s += stepS) {
    parts.push(
      `<text x="${x(s * 1000).toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${s}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<text x="${chart.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)}</text>`,
    );
    parts.push(
      `<line x1="${chart.left}" y1="${y(v).toFixed(1)}" x2="${chart.left + plotW}" y2="${y(v).toFixed(1)}" stroke="#eeeeee"/>`,
    );
  }
  return parts;
}

function legend(): string[] {
  const items: [string, string][] = [
    ['acknowledged unique-keys writes/s', colors['unique-keys']],
    ['acknowledged set adds/s', colors.set],
    ['acknowledged delete-workload ops/s', colors.delete],
    ['failed + unknown/s', colors.errors],
    ['fault window', colors.fault],
  ];
  const y = chart.height - 14;
  return items.map(([label, color], i) => {
    // Two rows of three: the legend fits the chart's width.
    const x = chart.left + (i % 3) * 290;
    const row = y - 16 * (1 - Math.floor(i / 3));
    return `<rect x="${x}" y="${row - 9}" width="12" height="10" fill="${color}" fill-opacity="${label === 'fault window' ? 0.3 : 1}"/><text x="${x + 16}" y="${row}">${label}</text>`;
  });
}

function niceMax(v: number): number {
  const step = niceStep(v / 4);
  return Math.ceil(v / step) * step;
}

/** 1, 2 or 5 times a power of ten, at least v. */
function niceStep(v: number): number {
  if (v <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * power >= v) return m * power;
  return 10 * power;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

/** Acknowledged operations per second in one fault window, and as a share of the healthy rate. */
export interface WindowRate {
  readonly index: number;
  readonly label: string;
  readonly opsPerSecond: number;
  /** opsPerSecond over the healthy rate; null when there was no healthy time to compare with. */
  readonly ofHealthy: number | null;
}

export interface FaultThroughput {
  /** Acknowledged operations per second outside every fault window. */
  readonly healthyOpsPerSecond: number | null;
  readonly windows: readonly WindowRate[];
}

const perSecond = (count: number, ms: number): number => Math.round((count / ms) * 10_000) / 10;

/**
 * How much of the healthy rate the cluster kept through each fault: acknowledged operations
 * (every workload) per second inside each applied window, against the rate outside all of them.
 */
export function faultThroughput(
  events: readonly OpEvent[],
  windows: readonly (TimelineWindow & { readonly index: number })[],
  durationMs: number,
): FaultThroughput {
  const applied = windows.filter((w) => !w.skipped && w.endMs > w.startMs);
  const inside = (t: number, w: TimelineWindow): boolean => t >= w.startMs && t < w.endMs;
  const acks = events.filter((e) => e.type === 'ok').map((e) => e.timeMs);
  let faultMs = 0;
  for (const w of applied) faultMs += Math.min(durationMs, w.endMs) - Math.max(0, w.startMs);
  const healthyMs = durationMs - faultMs;
  const healthyAcks = acks.filter((t) => !applied.some((w) => inside(t, w))).length;
  const healthy = healthyMs > 0 ? perSecond(healthyAcks, healthyMs) : null;
  return {
    healthyOpsPerSecond: healthy,
    windows: applied.map((w) => {
      const rate = perSecond(acks.filter((t) => inside(t, w)).length, w.endMs - w.startMs);
      return {
        index: w.index,
        label: w.label,
        opsPerSecond: rate,
        ofHealthy:
          healthy === null || healthy === 0 ? null : Math.round((rate / healthy) * 100) / 100,
      };
    }),
  };
}
