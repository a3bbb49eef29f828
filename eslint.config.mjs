import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import importX from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// What the pure packages (ring, vclock, merkle, quorum, membership) may not import: anything with
// I/O, timers or clocks. Time and randomness come in as arguments (docs/architecture.md).
const ioModules = [
  '@grpc/*',
  '@ringstore/proto',
  'better-sqlite3',
  'pino',
  'pino-*',
  'prom-client',
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'net',
  'node:net',
  'http',
  'node:http',
  'child_process',
  'node:child_process',
  'timers',
  'node:timers',
  'timers/promises',
  'node:timers/promises',
  'worker_threads',
  'node:worker_threads',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/out-tsc/**',
      '**/node_modules/**',
      '**/.nx/**',
      'packages/proto/src/gen/**',
      '**/vitest.config.ts',
      'vitest.*.ts',
      '**/bin/*.js',
      'eslint.config.mjs',
      '**/eslint.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    plugins: { '@nx': nx, 'import-x': importX },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': ['error', { maxDepth: 10 }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          banTransitiveDependencies: false,
          depConstraints: [
            {
              sourceTag: 'scope:pure',
              onlyDependOnLibsWithTags: ['scope:pure'],
              bannedExternalImports: ioModules,
            },
            { sourceTag: 'scope:proto', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'scope:io', onlyDependOnLibsWithTags: ['scope:pure'] },
            { sourceTag: 'scope:client', onlyDependOnLibsWithTags: ['scope:pure', 'scope:proto'] },
            {
              sourceTag: 'scope:app',
              onlyDependOnLibsWithTags: [
                'scope:pure',
                'scope:proto',
                'scope:io',
                'scope:client',
                'scope:tools',
              ],
            },
            {
              sourceTag: 'scope:tools',
              onlyDependOnLibsWithTags: ['scope:pure', 'scope:proto', 'scope:client'],
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/{ring,vclock,merkle,quorum,membership}/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.bench.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'Pure packages take time as an argument (nowMs).',
        },
        {
          object: 'Math',
          property: 'random',
          message: 'Pure packages take a seeded rng as an argument.',
        },
        {
          object: 'performance',
          property: 'now',
          message: 'Pure packages take time as an argument (nowMs).',
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Pure packages schedule timeouts as effects.' },
        { name: 'setInterval', message: 'Pure packages schedule timeouts as effects.' },
        { name: 'setImmediate', message: 'Pure packages schedule timeouts as effects.' },
        { name: 'fetch', message: 'Pure packages do no I/O.' },
        { name: 'process', message: 'Pure packages do no I/O.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Pure packages take time as an argument (nowMs).',
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.bench.ts', '**/test-support/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The web console's script runs in a browser: plain JavaScript, no type information.
    files: ['**/console/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'document',
          'window',
          'location',
          'sessionStorage',
          'fetch',
          'URLSearchParams',
          'Node',
          'setTimeout',
          'clearTimeout',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  prettier,
);
