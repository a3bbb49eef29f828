// One function per command: validated arguments in, exit code out. Output goes to io; errors a
// user can act on are thrown as UsageError, InputError or RpcError and reported by run().
import { manyItemsMax, type RoutingMode } from '@ringstore/client';
import { exitCode, notFoundJson, UsageError, type ExitCode } from './errors.js';
import {
  antiEntropyJson,
  formatAntiEntropyHuman,
  formatTriggerHuman,
  triggerJson,
} from './format-anti-entropy.js';
import {
  formatGetHuman,
  formatMembersHuman,
  formatRingHuman,
  getJson,
  isFound,
  membersJson,
  ringJson,
} from './format.js';
import type { RunIo } from './io.js';
import { parseHex } from './options.js';
import type { KvApi } from './kv.js';
import type { ClusterApi, TriggerAntiEntropyArgs } from './rpc.js';

/** Options every command takes, validated. */
export interface CommonOptions {
  /** The node the cluster commands ask, and the seed the data commands fetch the ring from. */
  readonly node: string;
  readonly deadlineMs: number;
  /** How the data commands pick the node for a key. */
  readonly routing: RoutingMode;
  readonly json: boolean;
  /** Keys on the command line are hex-encoded bytes rather than UTF-8 text. */
  readonly keyHex: boolean;
  /** Only primary replicas count towards R and W (no fallbacks). */
  readonly strict: boolean;
}

export interface CommandContext {
  readonly options: CommonOptions;
  /** get, put, delete: the SDK, routing each key to its replicas. */
  readonly kv: KvApi;
  /** ring, members, ae, cluster: the node given with --node. */
  readonly cluster: ClusterApi;
  /** A client of another node (the claimant, each member) with the same deadline; close it. */
  readonly dial: (address: string) => ClusterApi;
  readonly io: RunIo;
}

function printJson(io: RunIo, document: unknown): void {
  io.stdout.write(JSON.stringify(document) + '\n');
}

export function keyBytes(key: string, options: CommonOptions): Buffer {
  if (key.length === 0) throw new UsageError('the key must not be empty');
  return options.keyHex ? parseHex('the key', key) : Buffer.from(key, 'utf8');
}

export async function getCommand(
  context: CommandContext,
  key: string,
  r: number,
): Promise<ExitCode> {
  const { kv, io, options } = context;
  const response = await kv.get(keyBytes(key, options), r);
  const found = isFound(response);
  // Not found still prints the document (its context covers what was deleted), with the error.
  if (options.json)
    printJson(io, { ...getJson(key, response), ...(found ? {} : { error: notFoundJson }) });
  else if (found) io.stdout.write(formatGetHuman(response));
  if (found) return exitCode.ok;
  io.stderr.write('not found\n');
  return exitCode.notFound;
}

/**
 * Reads many keys in few calls (BatchGet, grouped per node): each key's siblings and context, or
 * "not found", or its own error. Exit 1 when any key could not be read (not found is an answer).
 */
export async function mgetCommand(
  context: CommandContext,
  keys: readonly string[],
  r: number,
): Promise<ExitCode> {
  const { kv, io, options } = context;
  if (keys.length === 0) throw new UsageError('mget needs at least one key');
  if (keys.length > manyItemsMax)
    throw new UsageError(`mget takes at most ${manyItemsMax} keys, got ${keys.length}`);
  const results = await kv.getMany(
    keys.map((key) => keyBytes(key, options)),
    r,
  );
  const failed = results.filter((res) => !res.ok).length;
  if (options.json) {
    printJson(io, {
      results: results.map((res, i) => {
        const key = keys[i] ?? '';
        if (res.ok) return getJson(key, res.value);
        const { code, statusName, details } = res.error;
        return { key, error: { code, status: statusName, message: details } };
      }),
    });
  } else {
    results.forEach((res, i) => {
      io.stdout.write(`== ${keys[i] ?? ''}\n`);
      if (!res.ok) io.stdout.write(`error: ${res.error.statusName}: ${res.error.details}\n`);
      else if (isFound(res.value)) io.stdout.write(formatGetHuman(res.value));
      else io.stdout.write('not found\n');
    });
  }
  if (failed === 0) return exitCode.ok;
  io.stderr.write(`${failed} of ${keys.length} keys could not be read\n`);
  return exitCode.failure;
}

export interface PutArgs {
  readonly key: string;
  readonly value: Buffer;
  readonly context: Buffer;
  readonly w: number;
}

/**
 * Prints the new context. When the write left concurrent siblings, prints them too (like get): a
 * later put with this context supersedes them all, so the user should see what they are.
 */
export async function putCommand(context: CommandContext, args: PutArgs): Promise<ExitCode> {
  const { kv, io, options } = context;
  const response = await kv.put({
    key: keyBytes(args.key, options),
    value: args.value,
    context: args.context,
    w: args.w,
  });
  const { siblings, context: contextBase64 } = getJson(args.key, response);
  if (options.json) printJson(io, { key: args.key, siblings, context: contextBase64 });
  else if (response.siblings.length > 1) io.stdout.write(formatGetHuman(response));
  else io.stdout.write(`context: ${contextBase64}\n`);
  return exitCode.ok;
}

export interface DeleteArgs {
  readonly key: string;
  /** undefined: read the key first and delete what that read saw. */
  readonly context: Buffer | undefined;
  readonly w: number;
}

/**
 * An empty context supersedes nothing, so a delete without --context first reads the key and
 * deletes exactly what the read returned (as Riak's client does). Nothing live there: not found.
 */
export async function deleteCommand(context: CommandContext, args: DeleteArgs): Promise<ExitCode> {
  const { kv, io, options } = context;
  const key = keyBytes(args.key, options);
  let deleteContext = args.context;
  if (deleteContext === undefined) {
    const current = await kv.get(key, 0);
    if (!isFound(current)) {
      if (options.json) printJson(io, { key: args.key, deleted: false, error: notFoundJson });
      io.stderr.write('not found\n');
      return exitCode.notFound;
    }
    deleteContext = current.context;
  }
  await kv.delete({ key, context: deleteContext, w: args.w });
  if (options.json) printJson(io, { key: args.key, deleted: true });
  else io.stdout.write('deleted\n');
  return exitCode.ok;
}

export async function ringCommand(context: CommandContext): Promise<ExitCode> {
  const { cluster, io, options } = context;
  const ring = await cluster.getRing();
  if (options.json) printJson(io, ringJson(ring));
  else io.stdout.write(formatRingHuman(ring));
  return exitCode.ok;
}

/**
 * Each member's place in the ring (from the ring at --node) beside its liveness as the answering
 * node's failure detector sees it: two different questions, so two columns.
 */
export async function membersCommand(context: CommandContext): Promise<ExitCode> {
  const { cluster, io, options } = context;
  const [members, ring] = await Promise.all([cluster.listMembers(), cluster.getRing()]);
  const view = { node: options.node, members, ring };
  if (options.json) printJson(io, membersJson(view));
  else io.stdout.write(formatMembersHuman(view));
  return exitCode.ok;
}

/** The summary first; the per-partition table with `all` (JSON always has both). */
export async function aeStatusCommand(context: CommandContext, all: boolean): Promise<ExitCode> {
  const { cluster, io, options } = context;
  const status = await cluster.getAntiEntropy();
  if (options.json) printJson(io, antiEntropyJson(status));
  else io.stdout.write(formatAntiEntropyHuman(status, io.nowMs?.() ?? Date.now(), all));
  return exitCode.ok;
}

export async function aeTriggerCommand(
  context: CommandContext,
  args: TriggerAntiEntropyArgs,
): Promise<ExitCode> {
  const { cluster, io, options } = context;
  const response = await cluster.triggerAntiEntropy(args);
  if (options.json) printJson(io, triggerJson(response));
  else io.stdout.write(formatTriggerHuman(response));
  return exitCode.ok;
}
