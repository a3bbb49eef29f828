// The membership commands (cluster join/leave/remove/replace, plan, commit, clear, status,
// limits). Changes go to the claimant, found in the ring --node holds; limits go to every member.
// Validated arguments in, exit code out, as in commands.ts.
import type { Change, Node, Ring, SetTransferLimitsRequest } from '@ringstore/proto';
import type { CommandContext } from './commands.js';
import { ClusterError, exitCode, RpcError, type ExitCode } from './errors.js';
import {
  commitJson,
  formatCancelHuman,
  formatClaimantHuman,
  formatClearHuman,
  formatCommitHuman,
  formatPlanHuman,
  formatStagedHuman,
  formatStatusHuman,
  planJson,
  ringVersionJson,
  stagedJson,
  statusJson,
} from './format-cluster.js';
import {
  formatFailures,
  formatLimitsHuman,
  limitsJson,
  type MemberFailure,
  type NodeLimits,
} from './format-transfers.js';
import { isUnreachable, type ClusterApi } from './rpc.js';

function printJson(context: CommandContext, document: unknown): void {
  context.io.stdout.write(JSON.stringify(document) + '\n');
}

/** Members that may answer: a left or removed node has stopped serving. */
const departedStatuses: ReadonlySet<string> = new Set(['left', 'removed']);

export function serving(ring: Ring): Node[] {
  return ring.nodes.filter((node) => !departedStatuses.has(node.status));
}

/** The claimant as the ring at --node names it; ClusterError when it names none it lists. */
function claimantOf(ring: Ring, asked: string): Node {
  const claimant = ring.nodes.find((node) => node.id === ring.claimant);
  if (claimant === undefined || claimant.address === '') {
    throw new ClusterError(
      `the ring at ${asked} names no claimant with an address ('${ring.claimant}'): ` +
        'membership changes need one',
    );
  }
  return claimant;
}

/** An unreachable node's error, saying which node it was and what that means. */
function unreachableClaimant(error: RpcError, claimant: Node, deadlineMs: number): RpcError {
  const what =
    error.statusName === 'DEADLINE_EXCEEDED'
      ? `did not answer within ${deadlineMs} ms`
      : 'is unreachable';
  return new RpcError(
    error.code,
    error.statusName,
    `claimant ${claimant.id} at ${claimant.address} ${what}: ${error.details}`,
  );
}

/**
 * Runs `call` at the claimant (Riak's riak_core_claimant takes every staged change): GetRing from
 * --node names it, then it is asked at its own address. A node that is not the claimant refuses
 * FAILED_PRECONDITION, which is passed through as any refusal is.
 */
async function atClaimant<T>(
  context: CommandContext,
  call: (claimant: ClusterApi) => Promise<T>,
): Promise<T> {
  const { options } = context;
  const claimant = claimantOf(await context.cluster.getRing(), options.node);
  const api = claimant.address === options.node ? context.cluster : context.dial(claimant.address);
  try {
    return await call(api);
  } catch (error) {
    if (error instanceof RpcError && isUnreachable(error))
      throw unreachableClaimant(error, claimant, options.deadlineMs);
    throw error;
  } finally {
    if (api !== context.cluster) api.close();
  }
}

export async function stageCommand(context: CommandContext, change: Change): Promise<ExitCode> {
  const staged = await atClaimant(context, (claimant) => claimant.stageChange(change));
  if (context.options.json) printJson(context, stagedJson(staged));
  else context.io.stdout.write(formatStagedHuman(staged));
  return exitCode.ok;
}

export async function planCommand(context: CommandContext): Promise<ExitCode> {
  const plan = await atClaimant(context, (claimant) => claimant.planChanges());
  if (context.options.json) printJson(context, planJson(plan));
  else context.io.stdout.write(formatPlanHuman(plan));
  return exitCode.ok;
}

export async function commitCommand(context: CommandContext): Promise<ExitCode> {
  const ring = await atClaimant(context, (claimant) => claimant.commitPlan());
  if (context.options.json) printJson(context, commitJson(ring));
  else context.io.stdout.write(formatCommitHuman(ring));
  return exitCode.ok;
}

export async function clearCommand(context: CommandContext): Promise<ExitCode> {
  const cleared = await atClaimant(context, (claimant) => claimant.clearChanges());
  if (context.options.json) printJson(context, { cleared });
  else context.io.stdout.write(formatClearHuman(cleared));
  return exitCode.ok;
}

/** Drops the running transition before its flip: the ring stays as it was. */
export async function cancelCommand(context: CommandContext): Promise<ExitCode> {
  const ring = await atClaimant(context, (claimant) => claimant.cancelTransition());
  if (context.options.json) printJson(context, ringVersionJson(ring));
  else context.io.stdout.write(formatCancelHuman(ring));
  return exitCode.ok;
}

/**
 * Hands the claimant role to `to`, at the claimant; forced, at --node, which must be `to` itself:
 * the old claimant is down then, and only the node taking over can write the new term.
 */
export async function claimantCommand(
  context: CommandContext,
  to: string,
  force: boolean,
): Promise<ExitCode> {
  const ring = force
    ? await context.cluster.moveClaimant(to, true)
    : await atClaimant(context, (claimant) => claimant.moveClaimant(to, false));
  if (context.options.json)
    printJson(context, { claimant: ring?.claimant ?? null, ...ringVersionJson(ring) });
  else context.io.stdout.write(formatClaimantHuman(ring, force));
  return exitCode.ok;
}

/** Asks --node: the ring as it holds it, and the versions it knows each member applied. */
export async function statusCommand(context: CommandContext): Promise<ExitCode> {
  const status = await context.cluster.getClusterStatus();
  if (context.options.json) printJson(context, statusJson(status));
  else context.io.stdout.write(formatStatusHuman(status));
  return exitCode.ok;
}

export interface MemberAnswers<T> {
  readonly answers: { readonly node: Node; readonly answer: T }[];
  readonly failures: MemberFailure[];
}

/**
 * Calls every serving member of the ring at its own address, all at once, each call with the
 * deadline; answers in ring order, and the members that could not be asked or refused.
 */
export async function askMembers<T>(
  context: CommandContext,
  ring: Ring,
  call: (member: ClusterApi) => Promise<T>,
): Promise<MemberAnswers<T>> {
  const members = serving(ring);
  const settled = await Promise.allSettled(
    members.map(async (node) => {
      const api = context.dial(node.address);
      try {
        return await call(api);
      } finally {
        api.close();
      }
    }),
  );
  const result: MemberAnswers<T> = { answers: [], failures: [] };
  settled.forEach((outcome, index) => {
    const node = members[index];
    if (node === undefined) return;
    if (outcome.status === 'fulfilled') result.answers.push({ node, answer: outcome.value });
    else result.failures.push(memberFailure(node, outcome.reason));
  });
  return result;
}

function memberFailure(node: Node, reason: unknown): MemberFailure {
  // Anything but an RpcError is a bug: let it crash as run() lets every bug crash.
  if (!(reason instanceof RpcError)) throw reason;
  const problem = isUnreachable(reason) ? `unreachable (${reason.message})` : reason.message;
  return { node: node.id, address: node.address, problem };
}

/**
 * Sets the given limits on every serving member (none given: only reads them back) and prints
 * what each now has. A member that could not be asked is named on stderr, and the exit code is 1,
 * as for any answer that is not whole.
 */
export async function limitsCommand(
  context: CommandContext,
  limits: SetTransferLimitsRequest,
): Promise<ExitCode> {
  const ring = await context.cluster.getRing();
  const { answers, failures } = await askMembers(context, ring, (member) =>
    member.setTransferLimits(limits),
  );
  const nodes: NodeLimits[] = answers.map(({ node, answer }) => ({
    node: node.id,
    address: node.address,
    limits: answer,
  }));
  if (context.options.json) printJson(context, limitsJson(nodes, failures));
  else context.io.stdout.write(formatLimitsHuman(nodes));
  context.io.stderr.write(formatFailures(failures));
  return failures.length === 0 ? exitCode.ok : exitCode.failure;
}
