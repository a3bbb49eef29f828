import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bound on one mount or umount: they are instant on tmpfs, a hang is a broken host. */
const mountTimeoutMs = 10_000;

/** A small tmpfs of its own: a filesystem that really fills up (ENOSPC), without touching /tmp. */
export interface Tmpfs {
  readonly dir: string;
  /** Unmounts (lazily when still busy) and removes the mount point; safe to call twice. */
  unmount(): void;
}

function run(args: readonly string[]): string | undefined {
  const [command, ...rest] = args;
  const result = spawnSync(command!, rest, { encoding: 'utf8', timeout: mountTimeoutMs });
  if (result.error !== undefined) return result.error.message;
  if (result.status !== 0) return result.stderr.trim() || `exit status ${result.status}`;
  return undefined;
}

/** Mounts a tmpfs of sizeBytes, or says why it cannot (not root, mount refused in a container). */
export function mountTmpfs(sizeBytes: number): Tmpfs | { skipReason: string } {
  if (process.platform !== 'linux')
    return { skipReason: `tmpfs needs Linux, not ${process.platform}` };
  if (process.getuid?.() !== 0) return { skipReason: 'mounting a tmpfs needs root' };
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-tmpfs-'));
  const failed = run(['mount', '-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  if (failed !== undefined) {
    rmSync(dir, { recursive: true, force: true });
    return { skipReason: `mount -t tmpfs refused: ${failed}` };
  }
  let mounted = true;
  return {
    dir,
    unmount: () => {
      if (!mounted) return;
      if (run(['umount', dir]) !== undefined) run(['umount', '-l', dir]);
      mounted = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
