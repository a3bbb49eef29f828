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
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { ClusterClient, type Ring } from '@ringstore/proto';
import { transitionState } from './chaos/membership.js';
import { netnsMissing, openNetwork, type Network } from './chaos/network.js';
import { hostOf } from './chaos/pki.js';
import { startCluster, type Cluster } from './cluster.js';
import { checkHealth, healthClient } from './health.js';
import { spawnChild, stopChild, type ChildHandle } from './node-process.js';
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
// The installed projects hold a whole node_modules (better-sqlite3 built in it): removing them
// takes longer than the default 10 s hook timeout on a busy CI disk.
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}, 120_000);

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
    // The web console's files sit beside dist/, where the node looks for them (console/http.ts).
    expect(json['files']).toContain('console');
    const files = filesUnder(dir);
    for (const f of ['console/index.html', 'console/console.js', 'console/console.css'])
      expect(files).toContain(f);
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

const npmInstallMs = 480_000;
let installing: Promise<string> | undefined;

/**
 * Both packages packed and installed into a new empty project outside the repository (once per
 * test file; the describes below share it): the project's directory.
 */
function installedProject(): Promise<string> {
  installing ??= (async () => {
    const out = tempDir('ringstore-pack-');
    const tarballs = packAll(out);
    expect(tarballs.map((t) => t.split('/').pop())).toEqual([
      `ringstore-client-${publishedVersion}.tgz`,
      `ringstore-server-${publishedVersion}.tgz`,
    ]);
    const project = tempDir('ringstore-user-project-');
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
    return project;
  })();
  return installing;
}

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

  beforeAll(async () => {
    project = await installedProject();
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
      // As a user's terminal-less run prints it: the test runner sets FORCE_COLOR (CI does), and
      // console.log would then colour the arrays' strings.
      const { stdout } = await run(process.execPath, ['example.mjs'], {
        cwd: project,
        timeout: 60_000,
        env: { ...process.env, FORCE_COLOR: '0' },
      });
      const lines = stdout.split('\n');
      const said = `run ${round} printed:\n${stdout}`;
      expect(lines, said).toContain("siblings: [ 'apple', 'pear' ]");
      expect(lines, said).toContain("after update: [ 'apple,fig,pear' ]");
      expect(lines, said).toContain("now: [ 'plum' ]");
      expect(lines, said).toContain('found after delete: false');
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

const noNetns = netnsMissing();
if (noNetns !== undefined)
  process.stderr.write(`multi-host test skipped: ${noNetns} (it needs network namespaces)\n`);

/** The SDK script the test runs inside a host's namespace: put N keys, or read them all back. */
const hostClientScript = `import { readFileSync } from 'node:fs';
import { connect } from '@ringstore/client';
const [mode, seeds, caFile, token, countText] = process.argv.slice(2);
const client = await connect({
  seeds: seeds.split(','),
  tls: { ca: readFileSync(caFile) },
  token,
  deadlineMs: 10000,
});
const count = Number(countText);
const wrong = [];
try {
  for (let i = 0; i < count; i++) {
    if (mode === 'put') await client.put('key-' + i, 'value-' + i);
    else {
      const got = await client.get('key-' + i);
      const values = got.siblings.filter((s) => !s.deleted).map((s) => s.value.toString());
      if (values.join() !== 'value-' + i) wrong.push('key-' + i + '=' + values.join('|'));
    }
  }
} finally {
  client.close();
}
console.log(JSON.stringify({ mode, count, wrong }));
`;

describe.skipIf(noNetns !== undefined)(
  'three hosts, then four, then three (network namespaces, nodes from the tarballs)',
  () => {
    const hosts = [1, 2, 3, 4].map((i) => ({
      id: `n${i}`,
      name: `db${i}.ringstore.test`,
      ns: '',
      ip: '',
    }));
    let network: Network | undefined;
    const nodes = new Map<string, ChildHandle>();
    const etcDirs: string[] = [];
    let project = '';
    let work = '';
    const token = randomBytes(24).toString('hex');

    beforeAll(async () => {
      project = await installedProject();
      work = tempDir('ringstore-multihost-');
      network = await openNetwork('netns', hosts.length, (line) =>
        process.stderr.write(`${line}\n`),
      );
      for (const [i, h] of hosts.entries()) {
        h.ns = network.commandPrefix!(h.id)[3]!;
        h.ip = hostOf(network.addresses![i]!);
      }
      // Each host resolves every host's name: `ip netns exec` mounts /etc/netns/NS/hosts over
      // /etc/hosts for what it runs.
      const table = ['127.0.0.1 localhost', ...hosts.map((h) => `${h.ip} ${h.name}`), ''].join(
        '\n',
      );
      for (const h of hosts) {
        const dir = join('/etc/netns', h.ns);
        mkdirSync(dir, { recursive: true });
        etcDirs.push(dir);
        writeFileSync(join(dir, 'hosts'), table);
      }
    }, npmInstallMs + 120_000);

    afterAll(async () => {
      await Promise.all(
        [...nodes.values()].map((child) =>
          stopChild(child, 'SIGTERM', 10_000).catch(() => undefined),
        ),
      );
      for (const dir of etcDirs) rmSync(dir, { recursive: true, force: true });
      await network?.close();
    }, 60_000);

    const bin = (name: string): string =>
      join(project, 'node_modules/@ringstore/server/bin', `${name}.js`);
    const pki = (): string => join(work, 'pki');
    const host = (id: string) => hosts.find((h) => h.id === id)!;

    /** Runs `command` inside host `id`'s namespace (its /etc/hosts), from the project. */
    async function inHost(id: string, args: string[], timeoutMs = 60_000): Promise<string> {
      const { stdout } = await run(
        'ip',
        ['netns', 'exec', host(id).ns, process.execPath, ...args],
        {
          cwd: project,
          timeout: timeoutMs,
        },
      );
      return stdout;
    }

    const ringctl = (from: string, args: string[]): Promise<string> =>
      inHost(from, [
        bin('ringctl'),
        '--node',
        `${host(from).name}:7001`,
        '--ca-file',
        join(pki(), 'ca.pem'),
        '--token',
        token,
        ...args,
      ]);

    /** Starts node `id` from the installed package with its config file, inside its namespace. */
    function startNode(id: string, placement: { nodes: string } | { seeds: string }): void {
      const h = host(id);
      const cert = join(pki(), `${id}.pem`);
      const key = join(pki(), `${id}-key.pem`);
      const config = {
        id,
        data: join(work, id),
        listen: `${h.name}:7001`,
        peerListen: `${h.name}:7002`,
        ...placement,
        certFile: cert,
        keyFile: key,
        trustedCaFile: join(pki(), 'ca.pem'),
        peerCertFile: cert,
        peerKeyFile: key,
        peerTrustedCaFile: join(pki(), 'ca.pem'),
        authTokenFile: join(pki(), 'tokens'),
        logLevel: 'warn',
      };
      const file = join(work, `${id}.json`);
      writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
      nodes.set(
        id,
        spawnChild({
          command: 'ip',
          args: ['netns', 'exec', h.ns, process.execPath, bin('ringstore-node'), '--config', file],
          logFile: join(work, `${id}.log`),
          cwd: work,
          env: process.env,
          onExit: () => undefined,
        }),
      );
    }

    /** Cluster client of node `id` from outside the namespaces (by address: its certificate names it). */
    function clusterClient(id: string): ClusterClient {
      return new ClusterClient(
        `${host(id).ip}:7001`,
        grpc.credentials.createSsl(readFileSync(join(pki(), 'ca.pem'))),
      );
    }

    async function ringOf(id: string): Promise<Ring | undefined> {
      const client = clusterClient(id);
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      try {
        return await new Promise<Ring>((resolve, reject) =>
          client.getRing({}, metadata, { deadline: Date.now() + 5_000 }, (e, ring) =>
            e === null ? resolve(ring) : reject(e),
          ),
        );
      } catch {
        return undefined;
      } finally {
        client.close();
      }
    }

    /** Waits (bounded) until the live nodes hold one ring with nothing moving. */
    async function settled(live: readonly string[], what: string): Promise<Ring> {
      const giveUp = Date.now() + 240_000;
      let state = 'no poll yet';
      while (Date.now() < giveUp) {
        const rings = await Promise.all(live.map(async (id) => [id, await ringOf(id)] as const));
        state = transitionState(rings);
        if (state === 'done') return rings[0]![1]!;
        await sleep(500);
      }
      throw new Error(`${what}: not settled within 240 s: ${state}`);
    }

    async function serving(id: string): Promise<void> {
      const client = healthClient(
        `${host(id).ip}:7001`,
        grpc.credentials.createSsl(readFileSync(join(pki(), 'ca.pem'))),
      );
      try {
        const giveUp = Date.now() + 60_000;
        for (;;) {
          const status = await checkHealth(client, 2_000).catch(() => 'UNKNOWN');
          if (status === 'SERVING') return;
          if (Date.now() > giveUp || nodes.get(id)?.exitInfo() !== undefined)
            throw new Error(
              `${id} not serving: ${readFileSync(join(work, `${id}.log`), 'utf8').slice(-2_000)}`,
            );
          await sleep(250);
        }
      } finally {
        client.close();
      }
    }

    it('forms a secured cluster by host name, takes writes, joins a fourth host, lets one leave, and reads everything back', async () => {
      // Certificates and tokens with the installed ringctl, each node's naming its host.
      await inHost('n1', [bin('ringctl'), 'certs', 'init', '--dir', pki()]);
      for (const h of hosts)
        await inHost('n1', [
          ...[bin('ringctl'), 'certs', 'node', '--dir', pki(), '--id', h.id],
          ...['--host', h.name, '--host', h.ip],
        ]);
      writeFileSync(join(pki(), 'tokens'), `${token} admin ops\n`, { mode: 0o600 });
      const founders = ['n1', 'n2', 'n3'];
      const members = founders
        .map((id) => `${id}=${host(id).name}:7001/${host(id).name}:7002`)
        .join(',');
      for (const id of founders) startNode(id, { nodes: members });
      for (const id of founders) await serving(id);
      const formed = await settled(founders, 'formed');
      expect(formed.nodes.map((n) => [n.id, n.address, n.peerAddress])).toEqual(
        founders.map((id) => [id, `${host(id).name}:7001`, `${host(id).name}:7002`]),
      );

      const ca = join(pki(), 'ca.pem');
      writeFileSync(join(project, 'host-client.mjs'), hostClientScript);
      const keys = 200;
      const put = JSON.parse(
        await inHost('n1', [
          'host-client.mjs',
          'put',
          'db1.ringstore.test:7001',
          ca,
          token,
          `${keys}`,
        ]),
      ) as { wrong: string[] };
      expect(put.wrong).toEqual([]);

      // A fourth host learns the ring by --seeds (a host name) and is joined.
      startNode('n4', { seeds: `${host('n1').name}:7002` });
      await serving('n4');
      await ringctl('n1', [
        ...['cluster', 'join'],
        `n4=${host('n4').name}:7001/${host('n4').name}:7002`,
      ]);
      await ringctl('n1', ['cluster', 'plan']);
      await ringctl('n1', ['cluster', 'commit']);
      const grown = await settled(['n1', 'n2', 'n3', 'n4'], 'join n4');
      expect(grown.nodes.find((n) => n.id === 'n4')).toMatchObject({
        status: 'valid',
        address: `${host('n4').name}:7001`,
      });

      // One leaves with its data; its process ends by itself once it has handed everything over.
      await ringctl('n3', ['cluster', 'leave', 'n2']);
      await ringctl('n3', ['cluster', 'plan']);
      await ringctl('n3', ['cluster', 'commit']);
      const shrunk = await settled(['n1', 'n3', 'n4'], 'leave n2');
      expect(shrunk.nodes.find((n) => n.id === 'n2')?.status).toBe('left');
      const exit = await Promise.race([
        nodes.get('n2')!.exited,
        sleep(120_000).then(() => undefined),
      ]);
      expect(exit, 'n2 exits after leaving').toMatchObject({ code: 0 });

      const read = JSON.parse(
        await inHost('n4', [
          ...['host-client.mjs', 'get', 'db4.ringstore.test:7001,db3.ringstore.test:7001'],
          ...[ca, token, `${keys}`],
        ]),
      ) as { count: number; wrong: string[] };
      expect(read).toEqual({ mode: 'get', count: keys, wrong: [] });
    }, 600_000);
  },
);
