import { bench, describe } from 'vitest';
import { LivenessTable, livenessDefaults } from './index.js';

// What failure detection costs on the request path: routing asks isRoutable for every replica of
// every request, and every peer answer is noted (answered).
const table = new LivenessTable(
  'n1',
  ['n1', 'n2', 'n3'],
  { ...livenessDefaults(1_000), phiThreshold: 8 },
  performance.now(),
);
for (let beat = 1; beat <= 20; beat++) {
  table.heard('n2', beat * 1_000);
  table.heard('n3', beat * 1_000);
}
let n = 0;

describe('liveness table (3 members, 20 heartbeats each)', () => {
  bench('isRoutable of one member', () => {
    if (!table.isRoutable(n++ & 1 ? 'n2' : 'n3', 20_500)) throw new Error('member down');
  });

  bench('answered: a peer answered a request (not suspected)', () => {
    table.answered(n++ & 1 ? 'n2' : 'n3', 20_400);
  });
});
