import type { GossipState, MemberState } from './gossip-state.js';
import { memberStatuses } from './gossip-state.js';

// A cluster of more members than this is outside what Ringstore is built for (a ring has at most
// a few thousand partitions and every node gossips the whole state each second).
export const membersMax = 1024;
// Node ids, addresses ("host:port") and zone names are short; anything longer is garbage.
export const idLengthMax = 128;
export const addressLengthMax = 256;
export const zoneLengthMax = 64;

export type GossipCheckErrorCode = 'too-many-members' | 'id-mismatch' | 'field-invalid';

/** An operating error: a peer sent gossip that must not be merged. */
export interface GossipCheckError {
  readonly code: GossipCheckErrorCode;
  readonly message: string;
}

/**
 * Checks a gossip state received from a peer before it is merged into the local one: every entry
 * well formed and filed under its own id, and the merged state within membersMax.
 */
export function checkGossipState(
  remote: GossipState,
  local: GossipState,
): GossipCheckError | undefined {
  let added = 0;
  for (const [id, member] of remote) {
    if (id !== member.id) {
      return {
        code: 'id-mismatch',
        message: `entry ${JSON.stringify(id)} holds member ${JSON.stringify(member.id)}`,
      };
    }
    const invalid = invalidField(member);
    if (invalid !== undefined) {
      return {
        code: 'field-invalid',
        message: `member ${JSON.stringify(id).slice(0, 140)}: ${invalid}`,
      };
    }
    if (!local.has(id)) added++;
    if (local.size + added > membersMax) {
      return {
        code: 'too-many-members',
        message: `merging would hold more than membersMax=${membersMax} members`,
      };
    }
  }
  return undefined;
}

function invalidField(member: MemberState): string | undefined {
  if (!isText(member.id, 1, idLengthMax)) return `id must be 1..${idLengthMax} characters`;
  if (!isText(member.address, 1, addressLengthMax))
    return `address must be 1..${addressLengthMax} characters`;
  if (!isText(member.peerAddress, 0, addressLengthMax))
    return `peer address must be 0..${addressLengthMax} characters`;
  if (!isText(member.zone, 0, zoneLengthMax)) return `zone must be 0..${zoneLengthMax} characters`;
  if (!isCounter(member.generation))
    return `generation ${String(member.generation)} is not a counter`;
  if (!isCounter(member.heartbeat)) return `heartbeat ${String(member.heartbeat)} is not a counter`;
  if (!memberStatuses.includes(member.status))
    return `status ${JSON.stringify(member.status)} is unknown`;
  return undefined;
}

function isText(value: unknown, lengthMin: number, lengthMax: number): boolean {
  return typeof value === 'string' && value.length >= lengthMin && value.length <= lengthMax;
}

function isCounter(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
