import { ActorEpochs } from '../actor-epochs.js';

/** A node's dot actors for unit tests: epochs of `base` leased in an in-memory meta table. */
export function testActors(base: string): ActorEpochs {
  const meta = new Map<string, string>();
  return new ActorEpochs(
    { getMeta: (name) => meta.get(name), setMeta: (name, value) => void meta.set(name, value) },
    base,
  );
}
