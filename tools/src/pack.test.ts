// The publishable packages (tools/src/pack.ts): staged as npm will read them, then packed and
// installed offline into an empty project outside the repository, where the client README's
// example runs (twice) against a cluster of nodes started from the installed server package, and
// `npx ringstore-node --help` and `npx ringctl --help` work.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './cluster.js';
import {
  internalClosure,
  packAll,
  publishables,
  publishedExports,
  publishedVersion,
  repoRoot,
  stage,
  thirdPartyDependencies,
  workspacePackages,
} from './pack.js';

const run = promisify(execFile);
const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Every file under `dir`, relative paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

const readJson = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('staging a publishable package', () => {
  it('the client: public, its internal packages bundled, their third-party dependencies its own, no tests or maps', () => {
    const dir = stage(publishables[0]!, tempDir('ringstore-stage-'));
    const json = readJson(join(dir, 'package.json'));
    expect(json['name']).toBe('@ringstore/client');
    expect(json['version']).toBe(publishedVersion);
    expect(json['private']).toBeUndefined();
    expect(json['types']).toBe('./dist/index.d.ts');
    expect(json['bundleDependencies']).toEqual([
      '@ringstore/frames',
      '@ringstore/proto',
      '@ringstore/quorum',
      '@ringstore/ring',
    ]);
    // Third-party ones at the workspace's pins; the bundled ones at the version inside.
    const deps = json['dependencies'] as Record<string, string>;
    expect(Object.keys(deps).sort()).toEqual([
      '@bufbuild/protobuf',
      '@grpc/grpc-js',
      '@ringstore/frames',
      '@ringstore/proto',
      '@ringstore/quorum',
      '@ringstore/ring',
    ]);
    expect(deps['@ringstore/proto']).toBe(publishedVersion);
    expect(JSON.stringify(json['exports'])).not.toContain('@ringstore/source');
    const files = filesUnder(dir);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('README.md');
    expect(files).toContain('CHANGELOG.md');
    expect(files).toContain('node_modules/@ringstore/proto/dist/index.js');
    expect(files).toContain('node_modules/@ringstore/proto/proto/ringstore/v1/kv.proto');
    expect(files.filter((f) => /\.test\.|\.map$|test-support/.test(f))).toEqual([]);
    // No source: a user's build would not find it, and it is not what runs.
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('the server: both bins, every internal package the node and ringctl use', () => {
    const dir = stage(publishables[1]!, tempDir('ringstore-stage-'));
    const json = readJson(join(dir, 'package.json'));
    expect(json['name']).toBe('@ringstore/server');
    expect(json['bin']).toEqual({
      'ringstore-node': './bin/ringstore-node.js',
      ringctl: './bin/ringctl.js',
    });
    const bundled = json['bundleDependencies'] as string[];
    for (const name of ['@ringstore/storage', '@ringstore/client', '@ringstore/ringctl'])
      expect(bundled).toContain(name);
    expect(bundled).not.toContain('@ringstore/tools'); // a dev dependency of the node only
    const deps = json['dependencies'] as Record<string, string>;
    for (const name of ['better-sqlite3', 'pino', '@grpc/grpc-js', 'commander', '@peculiar/x509'])
      expect(deps[name], name).toBeDefined();
    expect(Object.keys(deps).filter((d) => d.startsWith('@ringstore/'))).toEqual(bundled);
  });

  it('refuses two pins of one third-party package, and knows the closure of internal ones', () => {
    const packages = workspacePackages();
    expect(internalClosure(['@ringstore/client'], packages)).toEqual([
      '@ringstore/frames',
      '@ringstore/proto',
      '@ringstore/quorum',
      '@ringstore/ring',
    ]);
    const fake = new Map([
      [
        '@ringstore/a',
        { dir: '', json: { name: 'a', version: '1', dependencies: { x: '1.0.0' } } },
      ],
      [
        '@ringstore/b',
        { dir: '', json: { name: 'b', version: '1', dependencies: { x: '2.0.0' } } },
      ],
    ]);
    expect(() => thirdPartyDependencies(['@ringstore/a', '@ringstore/b'], fake)).toThrow(
      /x: @ringstore\/a pins 1\.0\.0, @ringstore\/b pins 2\.0\.0/,
    );
    expect(
      publishedExports({
        '.': { '@ringstore/source': './src/index.ts', default: './dist/index.js' },
      }),
    ).toEqual({ '.': { default: './dist/index.js' } });
  });
});

/** The client README's example (its first js block), with `seeds` made the given addresses. */
function readmeExample(seeds: readonly string[]): string {
  const readme = readFileSync(join(repoRoot, 'packages/client/README.md'), 'utf8');
  const match = /```js\n([\s\S]*?)```/.exec(readme);
  if (match?.[1] === undefined) throw new Error('no js example in the client README');
  const example = match[1];
  const seedsLine = /seeds: \[[^\]]*\]/;
  if (!seedsLine.test(example)) throw new Error('the README example names no seeds');
  return example.replace(seedsLine, `seeds: ${JSON.stringify(seeds)}`);
}

describe('packed, installed from the tarballs into an empty project', () => {
  let project: string;
  let cluster: Cluster | undefined;
  const npmInstallMs = 480_000;

  beforeAll(async () => {
    const out = tempDir('ringstore-pack-');
    const tarballs = packAll(out);
    expect(tarballs.map((t) => t.split('/').pop())).toEqual([
      `ringstore-client-${publishedVersion}.tgz`,
      `ringstore-server-${publishedVersion}.tgz`,
    ]);
    project = tempDir('ringstore-user-project-');
    writeFileSync(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'my-app', version: '1.0.0', private: true, type: 'module' })}\n`,
    );
    // Ours from the tarballs alone (no registry holds them); third-party packages from npm's
    // cache where the repository's own install put them (--prefer-offline), their metadata from
    // the registry (the repository's install went by its lock and fetched none).
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs],
      { cwd: project, timeout: npmInstallMs, maxBuffer: 16 * 1024 * 1024 },
    );
    cluster = await startCluster({
      nodes: 3,
      basePort: 0,
      dataDir: join(project, 'data'),
      nodeBin: join(project, 'node_modules/@ringstore/server/bin/ringstore-node.js'),
      extraArgs: ['--log-level', 'warn'],
    });
  }, npmInstallMs + 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it('holds nothing that points back into the repository', () => {
    const installed = join(project, 'node_modules/@ringstore');
    expect(readdirSync(installed).sort()).toEqual(['client', 'server']);
    const lock = readFileSync(join(project, 'package-lock.json'), 'utf8');
    expect(lock).not.toContain(repoRoot);
    expect(
      existsSync(join(installed, 'server/node_modules/@ringstore/storage/dist/index.js')),
    ).toBe(true);
  });

  it('runs npx ringstore-node --help and npx ringctl --help', async () => {
    const node = await run('npx', ['--no-install', 'ringstore-node', '--help'], {
      cwd: project,
      timeout: 60_000,
    });
    expect(node.stdout).toContain('Usage: ringstore-node');
    const ctl = await run('npx', ['--no-install', 'ringctl', '--help'], {
      cwd: project,
      timeout: 60_000,
    });
    expect(ctl.stdout).toContain('Usage: ringctl');
  }, 120_000);

  it("runs the client README's example as written against the cluster of installed nodes, twice", async () => {
    const seeds = cluster!.nodes.map((n) => n.address);
    writeFileSync(join(project, 'example.mjs'), readmeExample(seeds));
    for (const round of [1, 2]) {
      const { stdout } = await run(process.execPath, ['example.mjs'], {
        cwd: project,
        timeout: 60_000,
      });
      const lines = stdout.split('\n');
      expect(lines, `run ${round}`).toContain("siblings: [ 'apple', 'pear' ]");
      expect(lines, `run ${round}`).toContain("after update: [ 'apple,fig,pear' ]");
      expect(lines, `run ${round}`).toContain("now: [ 'plum' ]");
      expect(lines, `run ${round}`).toContain('found after delete: false');
    }
  }, 180_000);

  it('gives TypeScript users the types: a program using the SDK type-checks from the package alone', () => {
    writeFileSync(
      join(project, 'check.ts'),
      [
        "import { connect, type Client } from '@ringstore/client';",
        'const client: Client = await connect({ seeds: ["127.0.0.1:1"] });',
        "const got = await client.get('k');",
        'const first: Buffer | undefined = got.siblings[0]?.value;',
        'console.log(first, got.context.length);',
        '',
      ].join('\n'),
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022'];
    // @types/node from the repository's install: the SDK's types name Buffer.
    const typeRoots = ['--typeRoots', join(repoRoot, 'node_modules/@types'), '--types', 'node'];
    expect(() =>
      execFileSync(process.execPath, [tsc, ...args, ...typeRoots, 'check.ts'], {
        cwd: project,
        timeout: 120_000,
        stdio: 'pipe',
      }),
    ).not.toThrow();
    // And a type error is one: the check can fail.
    writeFileSync(
      join(project, 'bad.ts'),
      "import { connect } from '@ringstore/client';\nconnect(42);\n",
    );
    expect(() =>
      execFileSync(process.execPath, [tsc, ...args, ...typeRoots, 'bad.ts'], {
        cwd: project,
        timeout: 120_000,
        stdio: 'pipe',
      }),
    ).toThrow();
  }, 240_000);
});
