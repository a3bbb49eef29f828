// The shapes run.ts and run-cluster.ts share: flags as commander hands them over, and how a
// command body becomes a commander action.
import type { CommandContext } from './commands.js';

/** Flags as commander hands them over, before validation. */
export interface RawOptions {
  node?: string;
  /** Absent: the command's own default (deadlineMsDefault, or aeTriggerDeadlineMsDefault). */
  deadlineMs?: string;
  routing?: string;
  json?: boolean;
  keyHex?: boolean;
  strict?: boolean;
  valueHex?: boolean;
  r?: string;
  w?: string;
  context?: string;
  file?: string;
  /** Every --partition of ae trigger, in order, unvalidated. */
  partition?: string[];
  rebuild?: boolean;
  /** ae status: every partition's row too. */
  all?: boolean;
  /** cluster claimant. */
  force?: boolean;
  /** cluster join and replace. */
  zone?: string;
  dead?: boolean;
  /** cluster transfers. */
  watch?: boolean;
  intervalMs?: string;
  timeoutMs?: string;
  /** backup and restore. */
  dir?: string;
  pagesPerStep?: string;
  id?: string;
  data?: string;
  /** cluster limits. */
  concurrency?: string;
  objectsPerSecond?: string;
  bytesPerSecond?: string;
}

/** A command body: positional arguments as commander parsed them (optional ones may be missing). */
export type Action = (
  context: CommandContext,
  raw: RawOptions,
  positionals: readonly (string | undefined)[],
) => Promise<number>;
/** Wraps a command body as a commander action; deadlineMsDefault applies when --deadline-ms is absent. */
export type Bind = (
  action: Action,
  deadlineMsDefault?: number,
) => (...args: unknown[]) => Promise<void>;
