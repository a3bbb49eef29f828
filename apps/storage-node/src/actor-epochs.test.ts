import { openMemoryEngine } from '@ringstore/storage';
import { epochOf, join, values, sync } from '@ringstore/vclock';
import { describe, expect, it } from 'vitest';
import { ActorEpochs, epochLeaseLowWater, epochLeaseSize } from './actor-epochs.js';
import { ConfigError } from './config.js';
import { coordinateWrite, encodeObject, type KeyObject } from './object.js';

const value = (text: string, tombstone = false) => ({
  bytes: Buffer.from(text),
  tombstone,
  timestampMs: 1,
});
const texts = (o: KeyObject) =>
  values(o).map((v) => (v.tombstone ? '<tombstone>' : Buffer.from(v.bytes).toString()));

describe('ActorEpochs', () => {
  it('never hands out an epoch twice on one data directory, across restarts', async () => {
    const storage = openMemoryEngine();
    const first = new ActorEpochs(storage, 'n1.a');
    const before = [first.newEpoch(), first.newEpoch()];
    // A restart (or a crash) re-reads the lease: what the old process may have used is skipped.
    const second = new ActorEpochs(storage, 'n1.a');
    const after = second.newEpoch();
    const epochs = [...before, after].map((a) => epochOf(a, 'n1.a'));
    expect(epochs.slice(0, 2)).toEqual([1, 2]);
    expect(epochs[2]).toBeGreaterThan(epochLeaseSize);
    await storage.close();
  });

  it('renews the lease in prepare() once fewer than the low water are left', () => {
    const meta = new Map<string, string>([['actor_epoch_lease', '0']]);
    let writes = 0;
    const epochs = new ActorEpochs(
      {
        getMeta: (n) => meta.get(n),
        setMeta: (n, v) => {
          writes++;
          meta.set(n, v);
        },
      },
      'n1.a',
    );
    expect(meta.get('actor_epoch_lease')).toBe(String(epochLeaseSize));
    for (let i = 0; i < epochLeaseSize - epochLeaseLowWater; i++) epochs.newEpoch();
    epochs.prepare();
    expect(writes).toBe(1); // exactly the low water left: no renewal yet
    epochs.newEpoch();
    epochs.prepare();
    expect(writes).toBe(2);
    // The new lease starts after the last epoch handed out (the low water's one more).
    expect(Number(meta.get('actor_epoch_lease'))).toBe(2 * epochLeaseSize - epochLeaseLowWater + 1);
  });

  it('refuses a damaged lease row with a configuration error (the start stops)', () => {
    const storage = { getMeta: () => 'twelve', setMeta: () => undefined };
    expect(() => new ActorEpochs(storage, 'n1.a')).toThrow(ConfigError);
  });
});

describe('coordinateWrite with epochs', () => {
  it('a rewrite after the key was removed here survives every older copy still elsewhere', () => {
    const actors = new ActorEpochs(openMemoryEngine(), 'n1.a');
    const written = coordinateWrite(undefined, value('v1'), [], actors);
    const deleted = coordinateWrite(encodeObject(written), value('', true), join(written), actors);
    // Reaped here (no stored copy), then written again with the empty context of a not-found read.
    const rewritten = coordinateWrite(undefined, value('v2'), [], actors);
    expect(texts(sync(rewritten, written))).toContain('v2');
    expect(texts(sync(deleted, rewritten))).toContain('v2');
    // While the key is here, the same epoch goes on: the clock keeps one entry for this node.
    const again = coordinateWrite(encodeObject(rewritten), value('v3'), join(rewritten), actors);
    expect(again.entries.map((e) => e.actor)).toEqual(rewritten.entries.map((e) => e.actor));
    expect(texts(again)).toEqual(['v3']);
  });
});
