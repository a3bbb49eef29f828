// What the bench reads of a process in /proc (Linux): its resident memory (VmRSS now and VmHWM,
// the kernel's own high-water mark, which a sampler cannot miss between two reads; writing 5 to
// /proc/PID/clear_refs resets the mark, Linux 4.0+, same user or root) and its CPU time.
import { readFileSync, writeFileSync } from 'node:fs';

/** Between RSS samples: the brief's resolution; VmHWM covers what happens in between. */
export const rssSampleMs = 100;
/** Bytes in a MiB: VmRSS is in kB (KiB), and the report gives MiB. */
export const bytesPerMib = 1024 * 1024;

/** A field of /proc/PID/status in bytes ('VmRSS:\t  1800 kB'); undefined when absent. */
export function statusFieldBytes(status: string, field: 'VmRSS' | 'VmHWM'): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

function readStatus(pid: number): string {
  return readFileSync(`/proc/${pid}/status`, 'utf8');
}

/** VmRSS of pid in bytes; throws when the process is gone. */
export function rssBytes(pid: number): number {
  const bytes = statusFieldBytes(readStatus(pid), 'VmRSS');
  if (bytes === undefined) throw new Error(`/proc/${pid}/status has no VmRSS`);
  return bytes;
}

/** VmHWM (peak RSS since start or the last reset) in bytes; undefined when not readable. */
export function rssPeakBytes(pid: number): number | undefined {
  try {
    return statusFieldBytes(readStatus(pid), 'VmHWM');
  } catch {
    return undefined;
  }
}

/** Resets pid's VmHWM to its current RSS; false when the kernel or permissions do not allow it. */
export function resetRssPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ: 100 on Linux). */
export const clockTicksPerSecond = 100;

/** User plus system CPU seconds of pid so far; undefined when the process is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / clockTicksPerSecond : undefined;
  } catch {
    return undefined;
  }
}

/** What a sampler saw of one process over one window. */
export interface RssWindow {
  readonly beforeBytes: number;
  /** Largest of the samples, and of VmHWM when it could be reset at the start. */
  readonly peakBytes: number;
  /** Largest sample alone (every rssSampleMs, when the event loop let the timer run). */
  readonly sampledPeakBytes: number;
  /** VmHWM at the end, when it was reset at the start; null otherwise. */
  readonly kernelPeakBytes: number | null;
  readonly endBytes: number;
  readonly samples: number;
  /** Longest gap between two samples: a busy event loop delays the timer. */
  readonly gapMsMax: number;
}

/** Samples a process's RSS every rssSampleMs from start() to stop(). */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private beforeBytes = 0;
  private peak = 0;
  private samples = 0;
  private lastAtMs = 0;
  private gapMsMax = 0;
  private hwmReset = false;

  constructor(private readonly pid: number) {}

  start(): void {
    if (this.timer !== undefined) throw new Error('assertion failed: sampler already running');
    this.hwmReset = resetRssPeak(this.pid);
    this.beforeBytes = rssBytes(this.pid);
    this.peak = this.beforeBytes;
    this.samples = 1;
    this.lastAtMs = performance.now();
    this.gapMsMax = 0;
    this.timer = setInterval(() => this.sample(), rssSampleMs);
  }

  stop(): RssWindow {
    clearInterval(this.timer);
    this.timer = undefined;
    const endBytes = this.sample();
    const kernelPeakBytes = this.hwmReset ? (rssPeakBytes(this.pid) ?? null) : null;
    return {
      beforeBytes: this.beforeBytes,
      peakBytes: Math.max(this.peak, kernelPeakBytes ?? 0),
      sampledPeakBytes: this.peak,
      kernelPeakBytes,
      endBytes,
      samples: this.samples,
      gapMsMax: Math.round(this.gapMsMax),
    };
  }

  private sample(): number {
    const now = performance.now();
    this.gapMsMax = Math.max(this.gapMsMax, now - this.lastAtMs);
    this.lastAtMs = now;
    const bytes = rssBytes(this.pid);
    this.peak = Math.max(this.peak, bytes);
    this.samples++;
    return bytes;
  }
}
