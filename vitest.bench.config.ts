import { defineConfig } from 'vitest/config';

// Micro-benchmarks (`npm run microbench`): preference lists, DVVSet update/sync, Merkle update,
// storage engine. Figures go to docs/performance.md; nothing here asserts a time.
const conditions = ['@ringstore/source', 'node', 'import', 'module', 'default'];
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@ringstore/source'] } },
  test: {
    include: ['packages/*/src/**/*.bench.ts'],
    benchmark: { include: ['packages/*/src/**/*.bench.ts'] },
    environment: 'node',
    pool: 'forks',
  },
});
