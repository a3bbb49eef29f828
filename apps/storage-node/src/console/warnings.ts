/**
 * The node's recent warnings and errors, for the web console: a bounded ring of the last log
 * lines at level warn or above (the logger's hook feeds it; logger.ts). Only the message and a
 * few scalar fields are kept: never a key (logs carry key tags, not keys) or a whole object.
 */
export interface Warning {
  /** Wall-clock time (ms since the epoch). */
  readonly at: number;
  readonly level: 'warn' | 'error' | 'fatal';
  readonly msg: string;
  /** Scalar fields of the log line (strings cut to fieldCharsMax), at most fieldsMax of them. */
  readonly fields: Readonly<Record<string, string | number | boolean>>;
}

export const warningsKept = 100;
const fieldsMax = 12;
const fieldCharsMax = 200;
const msgCharsMax = 500;

export class WarningLog {
  private readonly ring: Warning[] = [];
  private next = 0;

  constructor(private readonly capacity = warningsKept) {}

  /** A pino level number (40 warn, 50 error, 60 fatal) with the line's fields and message. */
  add(level: number, fields: unknown, msg: string, at = Date.now()): void {
    if (level < 40) return;
    const name = level >= 60 ? 'fatal' : level >= 50 ? 'error' : 'warn';
    const entry: Warning = { at, level: name, msg: cut(msg, msgCharsMax), fields: scalars(fields) };
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  list(): Warning[] {
    const oldestFirst =
      this.ring.length < this.capacity
        ? this.ring
        : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return [...oldestFirst].reverse();
  }
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function scalars(fields: unknown): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (typeof fields !== 'object' || fields === null) return out;
  let n = 0;
  for (const [k, v] of Object.entries(fields)) {
    if (n >= fieldsMax) break;
    if (k === 'err' && v instanceof Error) {
      out['err'] = cut(v.message, fieldCharsMax);
    } else if (typeof v === 'string') out[k] = cut(v, fieldCharsMax);
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'bigint') out[k] = v.toString();
    else continue;
    n++;
  }
  return out;
}

/** The process's warnings, fed by every logger createLogger makes. */
export const recentWarnings = new WarningLog();
