// Human and --json renderings of node answers. Pure: message in, text out.
import type { Member, Node, Ring, Sibling } from '@ringstore/proto';

/** What get and put answer with: the siblings of a key and the context covering them. */
export interface SiblingsAndContext {
  readonly siblings: readonly Sibling[];
  readonly context: Buffer;
}

export interface SiblingJson {
  /** null when the bytes are not UTF-8; valueBase64 always holds them exactly. */
  readonly value: string | null;
  readonly valueBase64: string;
  readonly deleted: boolean;
}

export interface GetJson {
  readonly key: string;
  readonly found: boolean;
  readonly siblings: SiblingJson[];
  readonly context: string;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The value as text when it is valid UTF-8, otherwise undefined. */
function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A get found something when at least one sibling is a value rather than a concurrent delete. */
export function isFound(response: SiblingsAndContext): boolean {
  return response.siblings.some((sibling) => !sibling.deleted);
}

export function formatGetHuman(response: SiblingsAndContext): string {
  const lines = [`siblings: ${response.siblings.length}`];
  response.siblings.forEach((sibling, index) => {
    const text = utf8OrUndefined(sibling.value);
    const shown = sibling.deleted
      ? '(deleted)'
      : (text ?? `base64:${sibling.value.toString('base64')}`);
    lines.push(`[${index + 1}] ${shown}`);
  });
  lines.push(`context: ${response.context.toString('base64')}`);
  return lines.join('\n') + '\n';
}

export function getJson(key: string, response: SiblingsAndContext): GetJson {
  return {
    key,
    found: isFound(response),
    siblings: response.siblings.map((sibling) => ({
      value: utf8OrUndefined(sibling.value) ?? null,
      valueBase64: sibling.value.toString('base64'),
      deleted: sibling.deleted,
    })),
    context: response.context.toString('base64'),
  };
}

/** How many partitions each node (by index into ring.nodes) is the first owner of. */
export function partitionsPerNode(ring: Ring): number[] {
  const counts = ring.nodes.map(() => 0);
  for (const owner of ring.owners) {
    if (owner < counts.length) counts[owner] = (counts[owner] ?? 0) + 1;
  }
  return counts;
}

/** Partitions per line in the human owner listing. */
const ownersPerLine = 16;

/** The first owner's id of every partition ('?' for an index outside ring.nodes). */
export function ownerIds(ring: Ring): string[] {
  return ring.owners.map((owner) => ring.nodes[owner]?.id || '?');
}

export function formatRingHuman(ring: Ring): string {
  const counts = partitionsPerNode(ring);
  const header =
    `ring version ${ring.version}: ${ring.partitionCount} partitions, ` +
    `${ring.replicas} replicas, ${ring.nodes.length} nodes\n`;
  const rows = ring.nodes.map((node, index) => [...nodeCells(node), String(counts[index] ?? 0)]);
  return (
    header +
    formatTable(['ID', 'ADDRESS', 'ZONE', 'STATUS', 'PARTITIONS'], rows) +
    formatOwners(ring)
  );
}

/** The first owner of every partition, ownersPerLine to a line, each line led by its first partition. */
function formatOwners(ring: Ring): string {
  const ids = ownerIds(ring);
  if (ids.length === 0) return '';
  const indexWidth = String(ids.length - 1).length;
  const width = Math.max(...ids.map((id) => id.length));
  const lines = ['first owner of each partition (each line starts at the partition number shown):'];
  for (let start = 0; start < ids.length; start += ownersPerLine) {
    const cells = ids.slice(start, start + ownersPerLine).map((id) => id.padEnd(width));
    lines.push(`${String(start).padStart(indexWidth)}: ${cells.join(' ').trimEnd()}`);
  }
  return lines.join('\n') + '\n';
}

export function ringJson(ring: Ring): unknown {
  const counts = partitionsPerNode(ring);
  return {
    // uint64 as a decimal string, as in the proto3 JSON mapping.
    version: ring.version.toString(),
    partitionCount: ring.partitionCount,
    replicas: ring.replicas,
    nodes: ring.nodes.map((node, index) => ({ ...nodeJson(node), partitions: counts[index] ?? 0 })),
    // owners[p]: the id of partition p's first owner (the proto carries an index into nodes).
    owners: ownerIds(ring),
  };
}

/** What `members` shows: ListMembers of the node asked, and the ring that node holds. */
export interface MembersView {
  /** The address asked: liveness is as its failure detector sees it. */
  readonly node: string;
  readonly members: readonly Member[];
  readonly ring: Pick<Ring, 'nodes'>;
}

/** Above this phi is shown as ">1000": the member is long convicted, the digits say nothing. */
export const phiShownMax = 1_000;

/**
 * phi for people: two decimals, "inf" for infinity (and for Number.MAX_VALUE, which nodes send in
 * its place), ">1000" above phiShownMax.
 */
export function formatPhi(phi: number): string {
  if (!Number.isFinite(phi) || phi >= Number.MAX_VALUE) return 'inf';
  if (phi > phiShownMax) return `>${phiShownMax}`;
  return phi.toFixed(2);
}

/** up, or down (suspected: a request to it failed and no heartbeat came since). */
function livenessOf(member: Member): string {
  if (member.alive) return 'up';
  return member.suspected ? 'down (suspected)' : 'down';
}

/** The member's place in the ring (valid, joining, leaving, ...); undefined: the ring lacks it. */
function ringStatusOf(view: MembersView, id: string | undefined): string | undefined {
  return view.ring.nodes.find((node) => node.id === id)?.status || undefined;
}

export function formatMembersHuman(view: MembersView): string {
  const rows = view.members.map((member) => [
    member.node?.id || '?',
    member.node?.address || '?',
    member.node?.zone || '-',
    ringStatusOf(view, member.node?.id) ?? '-',
    livenessOf(member),
    formatPhi(member.phi),
    member.heartbeat.toString(),
  ]);
  const header = ['ID', 'ADDRESS', 'ZONE', 'STATUS', 'LIVENESS', 'PHI', 'HEARTBEAT'];
  return (
    `STATUS: the member's place in the ring; LIVENESS and PHI: as ${view.node} sees it now\n` +
    formatTable(header, rows)
  );
}

export function membersJson(view: MembersView): unknown {
  return {
    node: view.node,
    members: view.members.map((member) => ({
      id: member.node?.id ?? '',
      address: member.node?.address ?? '',
      peerAddress: member.node?.peerAddress ?? '',
      zone: member.node?.zone ?? '',
      // null: the ring at the node asked does not name it.
      status: ringStatusOf(view, member.node?.id) ?? null,
      liveness: member.alive ? 'up' : 'down',
      alive: member.alive,
      suspected: member.suspected,
      // JSON has no Infinity; proto3 JSON writes it as a string. Nodes send MAX_VALUE for it.
      phi: Number.isFinite(member.phi) && member.phi < Number.MAX_VALUE ? member.phi : 'Infinity',
      heartbeat: member.heartbeat.toString(),
      generation: member.generation.toString(),
    })),
  };
}

function nodeCells(node: Node | undefined): string[] {
  return [node?.id || '?', node?.address || '?', node?.zone || '-', node?.status || '?'];
}

function nodeJson(node: Node | undefined): Node {
  return {
    id: node?.id ?? '',
    address: node?.address ?? '',
    peerAddress: node?.peerAddress ?? '',
    zone: node?.zone ?? '',
    status: node?.status ?? '',
  };
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) =>
    Math.max(...all.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return all.map(line).join('\n') + '\n';
}
