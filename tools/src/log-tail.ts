// The end of a node's log, to show why it failed without dumping a whole file.
import { open } from 'node:fs/promises';

/** Bytes read from the end of the file at most: enough for a stack trace, bounded for huge logs. */
export const logTailBytesMax = 16 * 1024;

/** Lines shown when the caller does not say: a stack trace and what led to it. */
export const logTailLinesDefault = 30;

/** The last `lines` lines of the file, or '' when it cannot be read. */
export async function readLogTail(path: string, lines = logTailLinesDefault): Promise<string> {
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const length = Math.min(size, logTailBytesMax);
      const buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, size - length);
      return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      await file.close();
    }
  } catch {
    return '';
  }
}
