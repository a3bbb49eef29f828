import {
  commit,
  initialDocument,
  plan,
  stage,
  type ChangeCommand,
  type RingDocument,
  type Staged,
} from '@ringstore/membership';

/** The document of a step that must succeed in a test's setup; throws its refusal otherwise. */
export function ok<T>(
  outcome: { ok: true; document: T } | { ok: false; refusal: { message: string } },
): T {
  if (!outcome.ok) throw new Error(`setup refused: ${outcome.refusal.message}`);
  return outcome.document;
}

/** Version 1 of a cluster of `count` nodes n1.. at 10.0.0.i:7000 (peer port 7001), claimant n1. */
export function founded(
  count: number,
  options: { partitionCount?: number; replicas?: number; zones?: readonly string[] } = {},
): RingDocument {
  return initialDocument({
    clusterId: 'c1',
    claimant: 'n1',
    partitionCount: options.partitionCount ?? 16,
    replicas: options.replicas ?? 3,
    nodes: Array.from({ length: count }, (_, i) => ({
      id: `n${i + 1}`,
      address: `10.0.0.${i + 1}:7000`,
      peerAddress: `10.0.0.${i + 1}:7001`,
      zone: options.zones?.[i] ?? '',
    })),
  });
}

/** `commands` staged (every node up), planned and committed on `doc`: version + 1, transfers pending. */
export function committed(doc: RingDocument, commands: readonly ChangeCommand[]): RingDocument {
  let staged: Staged | undefined;
  for (const c of commands) {
    const outcome = stage(doc, staged, c, () => true);
    if (!outcome.ok) throw new Error(`setup refused: ${outcome.refusal.message}`);
    staged = outcome.staged;
  }
  if (staged === undefined) throw new Error('setup needs a command');
  return ok(commit(doc, staged, plan(doc, staged)));
}

/**
 * Node `id` joining `doc` at 10.0.0.<its number>:7000 (peer port 7001): committed, every transfer
 * pending.
 */
export function committedJoin(doc: RingDocument, id: string, zone = ''): RingDocument {
  const address = `10.0.0.${id.slice(1)}:7000`;
  const peerAddress = `10.0.0.${id.slice(1)}:7001`;
  return committed(doc, [{ kind: 'join', id, address, peerAddress, zone }]);
}
