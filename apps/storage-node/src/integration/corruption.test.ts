import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { corruptStoredObject } from '../test-support/corrupt.js';
import { eventually } from '../test-support/eventually.js';
import { siblingValues } from '../test-support/kv-client.js';

describe('a corrupt replica', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it('is never returned, is logged, and is read-repaired from the other replicas', async () => {
    tc = await startTestCluster(3);
    await tc.client('n1').put('precious', 'intact', { w: 3 });
    await tc.stopNode('n3');
    expect(corruptStoredObject(tc.cluster.node('n3').dataDir, 'precious')).toBe(1);
    await tc.restart('n3');

    // n3 coordinates: its own copy fails the checksum and must not count towards R or reach the client.
    expect(siblingValues(await tc.client('n3').get('precious', { r: 2 }))).toEqual(['intact']);
    expect(readFileSync(tc.cluster.node('n3').logFile, 'utf8')).toMatch(/corrupt object/);

    // Only a repaired n3 can answer once the other two are gone.
    await tc.kill('n1');
    await tc.kill('n2');
    const alone = await eventually(() => tc!.client('n3').get('precious', { r: 1 }));
    expect(siblingValues(alone)).toEqual(['intact']);
  }, 90_000);
});
