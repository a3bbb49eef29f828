import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logTailBytesMax, readLogTail } from './log-tail.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ringstore-log-tail-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readLogTail', () => {
  it('returns the last lines without the trailing newline', async () => {
    const path = join(dir, 'short.log');
    await writeFile(path, 'one\ntwo\nthree\n');
    expect(await readLogTail(path, 2)).toBe('two\nthree');
    expect(await readLogTail(path)).toBe('one\ntwo\nthree');
  });

  it('reads at most logTailBytesMax from the end of a large file', async () => {
    const path = join(dir, 'large.log');
    const lines = Array.from({ length: 20_000 }, (_, index) => `line ${index}`);
    await writeFile(path, lines.join('\n') + '\n');
    const tail = await readLogTail(path, 1_000_000);
    expect(tail.endsWith('line 19999')).toBe(true);
    expect(tail.length).toBeLessThanOrEqual(logTailBytesMax);
    expect(tail).not.toContain('line 0\n');
  });

  it('returns an empty string for a missing file', async () => {
    expect(await readLogTail(join(dir, 'missing.log'))).toBe('');
  });
});
