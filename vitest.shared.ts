import { defineConfig } from 'vitest/config';

/** Test configuration shared by every project: sources resolve through the @ringstore/source condition. */
export function projectTestConfig(
  options: { testTimeoutMs?: number; includeIntegration?: boolean } = {},
) {
  const conditions = ['@ringstore/source', 'node', 'import', 'module', 'default'];
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@ringstore/source'] } },
    test: {
      include: ['src/**/*.test.ts'],
      environment: 'node',
      testTimeout: options.testTimeoutMs ?? 10_000,
      hookTimeout: options.testTimeoutMs ?? 10_000,
      reporters: ['default'],
      pool: 'forks',
    },
  });
}
