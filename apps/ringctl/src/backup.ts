// ringctl backup and ringctl restore (docs/deployment.md "Backup and restore").
//
// backup: asks every member of the ring --node holds (joining, valid and leaving ones), one after
// another, for Cluster.Backup and writes DIR/ID.db (the database) and DIR/ID.json (its manifest:
// node, actor, ring, time, size, objects, SHA-256, checked against what the node sent), then
// DIR/cluster.json naming them all. A file is written as ID.db.partial and renamed once whole
// and verified, so DIR never holds a half backup under its final name.
//
// restore: local, with the node stopped: puts DIR/ID.db in place of the node's database in its
// data directory, marked restored, so the node takes a new actor at its next start (as after a
// disk loss); the writes it missed since come back by hinted handoff, read repair and
// anti-entropy. A whole cluster: restore every node, then start them all.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import type { BackupManifest } from '@ringstore/proto';
import { restoreDatabase } from '@ringstore/storage';
import type { CommandContext } from './commands.js';
import { exitCode, InputError, UsageError, type ExitCode } from './errors.js';
import type { RunIo } from './io.js';

/** Each node's backup deadline unless --deadline-ms: an hour (a big node over a slow link). */
export const backupDeadlineMsDefault = 3_600_000;
/** The ring statuses whose members hold data and are backed up. */
const backedUpStatuses = new Set(['joining', 'valid', 'leaving']);

/** One node's backup as DIR/ID.json holds it. */
export interface BackupManifestJson {
  readonly nodeId: string;
  readonly actor: string;
  readonly ringTerm: string;
  readonly ringVersion: string;
  readonly createdAtMs: number;
  readonly databaseBytes: number;
  readonly objects: number;
  readonly sha256: string;
  readonly file: string;
}

function manifestJson(m: BackupManifest, sha256: string, file: string): BackupManifestJson {
  return {
    nodeId: m.nodeId,
    actor: m.actor,
    ringTerm: m.ringTerm.toString(),
    ringVersion: m.ringVersion.toString(),
    createdAtMs: Number(m.createdAtMs),
    databaseBytes: Number(m.databaseBytes),
    objects: Number(m.objects),
    sha256,
    file,
  };
}

/** Parses --pages-per-step: 0 (the node's default) .. 4096. */
export function parsePagesPerStep(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 4_096)
    throw new UsageError(`--pages-per-step must be a whole number in 0..4096, got '${text}'`);
  return n;
}

/** Streams one node's backup into DIR/ID.db (verified) and DIR/ID.json. */
async function backupNode(
  context: CommandContext,
  dir: string,
  node: { id: string; address: string },
  pagesPerStep: number,
): Promise<BackupManifestJson> {
  const finalFile = join(dir, `${node.id}.db`);
  const partial = `${finalFile}.partial`;
  const out = createWriteStream(partial, { mode: 0o600 });
  const digest = createHash('sha256');
  let manifest: BackupManifest | undefined;
  let sent: Buffer | undefined;
  let written = 0;
  const api = context.dial(node.address);
  try {
    await api.backup(pagesPerStep, async (chunk) => {
      const part = chunk.part;
      if (part?.$case === 'manifest') manifest = part.value;
      else if (part?.$case === 'sha256') sent = Buffer.from(part.value);
      else if (part?.$case === 'data') {
        if (manifest === undefined)
          throw new InputError(`${node.id} sent data before its manifest`);
        digest.update(part.value);
        written += part.value.length;
        if (!out.write(part.value)) await once(out, 'drain');
      }
    });
    out.end();
    await once(out, 'finish');
    const sha256 = digest.digest();
    if (manifest === undefined || sent === undefined)
      throw new InputError(`${node.id}'s backup ended before its manifest and checksum`);
    if (manifest.nodeId !== node.id)
      throw new InputError(`${node.address} sent a backup of ${manifest.nodeId}, not ${node.id}`);
    if (!sha256.equals(sent) || written !== Number(manifest.databaseBytes))
      throw new InputError(`${node.id}'s backup arrived damaged (size or SHA-256 differ)`);
    const json = manifestJson(manifest, sha256.toString('hex'), `${node.id}.db`);
    await writeFile(join(dir, `${node.id}.json`), `${JSON.stringify(json, null, 2)}\n`, {
      mode: 0o600,
    });
    await rename(partial, finalFile);
    return json;
  } catch (e) {
    out.destroy();
    await rm(partial, { force: true });
    throw e;
  } finally {
    api.close();
  }
}

export async function backupCommand(
  context: CommandContext,
  args: { readonly dir: string; readonly pagesPerStep: number },
): Promise<ExitCode> {
  const { io, options } = context;
  const dir = resolve(args.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const present = (await readdir(dir)).filter((f) => f.endsWith('.db') || f === 'cluster.json');
  if (present.length > 0)
    throw new UsageError(`${dir} holds a backup already (${present[0]}): give an empty directory`);
  const ring = await context.cluster.getRing();
  const members = ring.nodes.filter((n) => backedUpStatuses.has(n.status));
  const done: BackupManifestJson[] = [];
  const failed: { nodeId: string; error: string }[] = [];
  for (const node of members) {
    try {
      const m = await backupNode(context, dir, node, args.pagesPerStep);
      done.push(m);
      if (!options.json)
        io.stdout.write(
          `${m.nodeId}: ${m.objects} objects, ${m.databaseBytes} bytes, ring ${m.ringTerm}.${m.ringVersion}, sha256 ${m.sha256.slice(0, 16)}...\n`,
        );
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      failed.push({ nodeId: node.id, error });
      if (!options.json) io.stderr.write(`${node.id}: backup failed: ${error}\n`);
    }
  }
  const summary = {
    createdAtMs: Date.now(),
    ringTerm: ring.term.toString(),
    ringVersion: ring.version.toString(),
    nodes: done,
    failed,
  };
  await writeFile(join(dir, 'cluster.json'), `${JSON.stringify(summary, null, 2)}\n`, {
    mode: 0o600,
  });
  if (options.json) io.stdout.write(`${JSON.stringify({ dir, ...summary })}\n`);
  else
    io.stdout.write(
      `${done.length} of ${members.length} nodes backed up to ${dir}${failed.length > 0 ? ` (failed: ${failed.map((f) => f.nodeId).join(', ')})` : ''}\n`,
    );
  return failed.length === 0 ? exitCode.ok : exitCode.failure;
}

/** SHA-256 of a file, hex. */
async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function restoreCommand(
  io: RunIo,
  args: {
    readonly dir: string;
    readonly nodeId: string;
    readonly data: string;
    readonly force: boolean;
    readonly json: boolean;
  },
): Promise<ExitCode> {
  const manifestFile = join(args.dir, `${args.nodeId}.json`);
  if (!existsSync(manifestFile))
    throw new InputError(`${manifestFile} is missing: no backup of ${args.nodeId} in ${args.dir}`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifestJson;
  const backupFile = join(args.dir, manifest.file);
  if (!existsSync(backupFile)) throw new InputError(`${backupFile} is missing`);
  if ((await fileSha256(backupFile)) !== manifest.sha256)
    throw new InputError(`${backupFile} does not match the SHA-256 of its manifest: damaged`);
  let result;
  try {
    result = await restoreDatabase({
      backupFile,
      dataDir: args.data,
      nodeId: args.nodeId,
      force: args.force,
    });
  } catch (e) {
    throw new InputError(e instanceof Error ? e.message : String(e));
  }
  const document = {
    nodeId: args.nodeId,
    database: result.databasePath,
    objects: result.objects,
    backupCreatedAtMs: manifest.createdAtMs,
    movedAside: result.movedAside ?? null,
  };
  if (args.json) io.stdout.write(`${JSON.stringify(document)}\n`);
  else
    io.stdout.write(
      `restored ${args.nodeId} (${result.objects} objects, backup of ${new Date(manifest.createdAtMs).toISOString()}) into ${result.databasePath}` +
        `${result.movedAside === undefined ? '' : `; the database that was there is ${result.movedAside}`}\n` +
        'start the node: it takes a new actor, and hinted handoff, read repair and anti-entropy bring what it missed\n',
    );
  return exitCode.ok;
}
