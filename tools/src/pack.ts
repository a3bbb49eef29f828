// `npm run pack`: the publishable npm packages, as tarballs that install into an empty project
// with nothing else from this repository (docs/deployment.md).
//
// The workspace's packages are private and reference each other by name; two are for users:
//   @ringstore/client  the SDK (packages/client), its generated proto code and the packages it
//                      builds on (ring, quorum, frames, proto) inside it
//   @ringstore/server  the `ringstore-node` daemon (apps/storage-node) and `ringctl`
//                      (apps/ringctl), every internal package they use inside it
// Each is staged in a directory of its own: the package's built dist/ (no tests, no source maps),
// its bin/, README.md and CHANGELOG.md, and a package.json for publishing (public, `files`,
// `exports` without the workspace's source condition, types). The internal packages it needs go
// into its node_modules/ as bundled dependencies (npm keeps them inside the tarball and never
// resolves them from a registry); the third-party packages they all depend on become its own
// dependencies, at the versions the workspace pins. Then `npm pack` makes the tarball.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is tools/src/pack.ts or tools/dist/pack.js). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The version every published package carries (semver 0.x: the API may still change). */
export const publishedVersion = '0.2.0';

/** Bound on one `npm pack` (it reads the staged files and writes a tarball). */
const npmPackTimeoutMs = 120_000;

interface PackageJson {
  name: string;
  version: string;
  description?: string;
  bin?: Record<string, string>;
  exports?: unknown;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** A package users install, and what goes into it besides its workspace package. */
export interface Publishable {
  /** The workspace package published under its own name. */
  readonly workspace: string;
  readonly description: string;
  /** Other workspace packages whose bins it also ships (bundled, with a bin of their own here). */
  readonly alsoBins?: readonly string[];
  /** The name it is published under (default: the workspace package's). */
  readonly name?: string;
}

export const publishables: readonly Publishable[] = [
  {
    workspace: '@ringstore/client',
    description:
      'Ringstore smart client: zero-hop routing to a key’s replicas, siblings and contexts, pipelined sessions, batches, TLS and tokens',
  },
  {
    workspace: '@ringstore/storage-node',
    name: '@ringstore/server',
    description:
      'Ringstore server: the ringstore-node storage daemon (a Dynamo-style distributed key-value store) and the ringctl administration tool',
    alsoBins: ['@ringstore/ringctl'],
  },
];

const readJson = (file: string): PackageJson =>
  JSON.parse(readFileSync(file, 'utf8')) as PackageJson;

/** Every workspace package by name: its directory and package.json. */
export function workspacePackages(
  root = repoRoot,
): Map<string, { dir: string; json: PackageJson }> {
  const found = new Map<string, { dir: string; json: PackageJson }>();
  const dirs = ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(root, group)).map((d) => join(root, group, d)),
  );
  for (const dir of [...dirs, join(root, 'tools')]) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const json = readJson(file);
    found.set(json.name, { dir, json });
  }
  return found;
}

/** The package of the generated code, which also ships the .proto files (its protoRoot). */
const protoPackage = '@ringstore/proto';

const isWorkspaceName = (name: string): boolean => name.startsWith('@ringstore/');

/** The workspace packages `names` depend on, transitively (names themselves left out). */
export function internalClosure(
  names: readonly string[],
  packages: Map<string, { dir: string; json: PackageJson }>,
): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const pkg = packages.get(name);
    if (pkg === undefined) throw new Error(`no workspace package ${name}`);
    for (const dep of Object.keys(pkg.json.dependencies ?? {}).filter(isWorkspaceName)) {
      if (seen.has(dep) || names.includes(dep)) continue;
      seen.add(dep);
      visit(dep);
    }
  };
  for (const name of names) visit(name);
  return [...seen].sort();
}

/**
 * The third-party dependencies of `names` together, at the versions they pin; throws when two
 * pin different versions of one (the bundle would have to pick one).
 */
export function thirdPartyDependencies(
  names: readonly string[],
  packages: Map<string, { dir: string; json: PackageJson }>,
): Record<string, string> {
  const deps: Record<string, string> = {};
  const from: Record<string, string> = {};
  for (const name of names) {
    const pinned = packages.get(name)?.json.dependencies ?? {};
    for (const [dep, version] of Object.entries(pinned)) {
      if (isWorkspaceName(dep)) continue;
      if (deps[dep] !== undefined && deps[dep] !== version)
        throw new Error(
          `${dep}: ${from[dep]} pins ${deps[dep]}, ${name} pins ${version}; pin one version`,
        );
      deps[dep] = version;
      from[dep] = name;
    }
  }
  return Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b)));
}

/** The workspace's `exports` without its source condition (only this repository's tests use it). */
export function publishedExports(exportsField: unknown): unknown {
  if (typeof exportsField !== 'object' || exportsField === null) return exportsField;
  if (Array.isArray(exportsField)) return exportsField.map(publishedExports);
  return Object.fromEntries(
    Object.entries(exportsField)
      .filter(([k]) => k !== '@ringstore/source')
      .map(([k, v]) => [k, publishedExports(v)]),
  );
}

/** What of a built dist/ is shipped: compiled code and types, no tests, benches or maps. */
function shipped(source: string): boolean {
  const name = basename(source);
  if (name.endsWith('.map') || name.endsWith('.tsbuildinfo')) return false;
  if (/\.(test|bench|forged\.test)\.(js|d\.ts)$/.test(name)) return false;
  return name !== 'test-support' && name !== 'integration';
}

/** Copies a workspace package's shipped files (dist/, bin/) from `dir` into `to`. */
function copyShipped(dir: string, to: string): void {
  const dist = join(dir, 'dist');
  if (!existsSync(join(dist, 'index.js')) && !existsSync(join(dist, 'main.js')))
    throw new Error(`${dist} is not built: run npm run build first`);
  cpSync(dist, join(to, 'dist'), { recursive: true, filter: shipped });
  for (const extra of shippedDirs)
    if (existsSync(join(dir, extra)))
      cpSync(join(dir, extra), join(to, extra), { recursive: true });
}

/** Directories shipped beside dist/ when a package has them: its bins, the node's web console. */
const shippedDirs = ['bin', 'console'] as const;

/** A bundled internal package's package.json: enough for Node to resolve it, no dependencies. */
function bundledJson(json: PackageJson): PackageJson {
  const out: PackageJson = {
    name: json.name,
    version: publishedVersion,
    private: true,
    type: 'module',
    exports: publishedExports(json.exports),
  };
  return out;
}

/**
 * Stages `p` under `stagingRoot` (a directory of its own, made afresh) and returns it: the
 * publishable package as `npm pack` will read it.
 */
export function stage(p: Publishable, stagingRoot: string, root = repoRoot): string {
  const packages = workspacePackages(root);
  const main = packages.get(p.workspace);
  if (main === undefined) throw new Error(`no workspace package ${p.workspace}`);
  const name = p.name ?? p.workspace;
  const dir = join(stagingRoot, name.replace('/', '+'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyShipped(main.dir, dir);
  const also = p.alsoBins ?? [];
  const bundled = [...new Set([...internalClosure([p.workspace, ...also], packages), ...also])]
    .filter((n) => n !== p.workspace)
    .sort();
  for (const dep of bundled) {
    const pkg = packages.get(dep)!;
    const to = join(dir, 'node_modules', ...dep.split('/'));
    mkdirSync(to, { recursive: true });
    copyShipped(pkg.dir, to);
    // The .proto files go with the generated code: reflection and proto-loader read them.
    if (dep === protoPackage)
      cpSync(join(root, 'proto'), join(to, 'proto'), {
        recursive: true,
        filter: (f) => statSync(f).isDirectory() || f.endsWith('.proto'),
      });
    writeFileSync(join(to, 'package.json'), `${JSON.stringify(bundledJson(pkg.json), null, 2)}\n`);
  }
  const bin: Record<string, string> = {};
  for (const [command, path] of Object.entries(main.json.bin ?? {})) bin[command] = path;
  for (const dep of also) {
    for (const [command, path] of Object.entries(packages.get(dep)!.json.bin ?? {})) {
      // A bin of its own that runs the bundled package's (bins must live in this package).
      const target = relative(join(dir, 'bin'), join(dir, 'node_modules', ...dep.split('/'), path));
      const file = join(dir, 'bin', `${command}.js`);
      mkdirSync(join(dir, 'bin'), { recursive: true });
      writeFileSync(
        file,
        `#!/usr/bin/env node\n// ${command}, shipped inside ${name} (from ${dep}).\nawait import(new URL(${JSON.stringify(target)}, import.meta.url).href);\n`,
      );
      chmodSync(file, 0o755);
      bin[command] = `./bin/${command}.js`;
    }
  }
  for (const doc of ['README.md', 'CHANGELOG.md']) {
    const source = join(main.dir, doc);
    if (!existsSync(source)) throw new Error(`${source} is missing: every package ships one`);
    cpSync(source, join(dir, doc));
  }
  const json: PackageJson = {
    name,
    version: publishedVersion,
    description: p.description,
    license: 'Apache-2.0',
    type: 'module',
    engines: { node: '>=20' },
    ...(Object.keys(bin).length > 0 ? { bin } : {}),
    exports: publishedExports(main.json.exports),
    types: './dist/index.d.ts',
    files: [
      'dist',
      ...(Object.keys(bin).length > 0 ? ['bin'] : []),
      ...(existsSync(join(main.dir, 'console')) ? ['console'] : []),
      'CHANGELOG.md',
    ],
    // A bundled package is a dependency too (npm packs only bundled names it depends on), at
    // the version inside the tarball.
    dependencies: {
      ...thirdPartyDependencies([p.workspace, ...bundled], packages),
      ...Object.fromEntries(bundled.map((dep) => [dep, publishedVersion])),
    },
    bundleDependencies: bundled,
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(json, null, 2)}\n`);
  return dir;
}

/** `npm pack` of a staged package into `outDir`; the tarball's path. */
export function packStaged(stagedDir: string, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const out = execFileSync(
    'npm',
    ['pack', '--json', '--pack-destination', outDir, '--ignore-scripts'],
    {
      cwd: stagedDir,
      encoding: 'utf8',
      timeout: npmPackTimeoutMs,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const [info] = JSON.parse(out) as { filename: string }[];
  if (info === undefined) throw new Error(`npm pack in ${stagedDir} printed no tarball`);
  return join(outDir, info.filename);
}

/** Stages and packs every publishable package; their tarballs, in `publishables` order. */
export function packAll(outDir: string, root = repoRoot): string[] {
  const staging = join(outDir, 'staging');
  rmSync(staging, { recursive: true, force: true });
  try {
    return publishables.map((p) => packStaged(stage(p, staging, root), outDir));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
