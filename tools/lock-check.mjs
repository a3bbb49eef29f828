// CI check: did `npm install` change the lock file in a way that matters on this machine?
// Usage: node tools/lock-check.mjs <lock before> <lock after>
// Entries for other platforms' optional binaries (@rollup/rollup-darwin-*, ...) are ignored:
// whether npm records them depends on what the registry mirror carries, not on our dependencies.
// Everything else (every package this machine installs, every workspace's dependency list)
// must be identical, so a package.json change without its lock change still fails.
import { readFileSync } from 'node:fs';
import process from 'node:process';

const [beforePath, afterPath] = process.argv.slice(2);
if (!beforePath || !afterPath) {
  process.stderr.write('usage: node tools/lock-check.mjs <before> <after>\n');
  process.exit(2);
}
const matches = (list, value) =>
  !Array.isArray(list) ||
  list.some((v) => v === value || (v.startsWith('!') ? v.slice(1) !== value : false));
const libc =
  process.platform === 'linux'
    ? process.report.getReport().header.glibcVersionRuntime
      ? 'glibc'
      : 'musl'
    : undefined;
const foreign = (entry) =>
  entry.optional === true &&
  (!matches(entry.os, process.platform) ||
    !matches(entry.cpu, process.arch) ||
    (libc !== undefined && !matches(entry.libc, libc)));
const relevant = (path) => {
  const lock = JSON.parse(readFileSync(path, 'utf8'));
  const out = {};
  for (const [name, entry] of Object.entries(lock.packages ?? {}))
    if (!foreign(entry)) out[name] = entry;
  return out;
};
const before = relevant(beforePath);
const after = relevant(afterPath);
const diffs = [];
for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
  const a = JSON.stringify(before[name]);
  const b = JSON.stringify(after[name]);
  if (a !== b)
    diffs.push(`${name || '(root)'}:\n  before ${a ?? 'absent'}\n  after  ${b ?? 'absent'}`);
}
if (diffs.length > 0) {
  process.stderr.write(
    `package-lock.json changed during install (${diffs.length} entries):\n${diffs.slice(0, 20).join('\n')}\n`,
  );
  process.exit(1);
}
process.stdout.write('package-lock.json: install changed nothing that this platform installs\n');
