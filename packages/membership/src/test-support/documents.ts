import { initialDocument, type RingDocument, type RingNode } from '../ring-document.js';

/** Node ids n1..n<count>, each at its own address 10.0.0.<i>:7000, no zone. */
export function newNodes(count: number): { id: string; address: string; zone: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `n${i + 1}`,
    address: `10.0.0.${i + 1}:7000`,
    zone: '',
  }));
}

/** A fresh cluster 'c1' of n1..n<count>, claimant n1, Q=16, N=3: frozen, so a mutation throws. */
export function documentOf(count: number, partitionCount = 16): RingDocument {
  return deepFreeze(
    initialDocument({
      clusterId: 'c1',
      claimant: 'n1',
      partitionCount,
      replicas: 3,
      nodes: newNodes(count),
    }),
  );
}

/** `doc` with extra nodes that own nothing (left or removed ones keep their ids taken). */
export function withRetiredNodes(doc: RingDocument, retired: readonly RingNode[]): RingDocument {
  const nodes = [...doc.nodes, ...retired].sort((a, b) => (a.id < b.id ? -1 : 1));
  return deepFreeze({ ...doc, nodes });
}

/** Freezes plain data all the way down: code under test that mutates it throws (ES modules are strict). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
