// deploy/: the Kubernetes manifests validated against the Kubernetes API's schemas
// (kubernetes-models), their references to each other checked, the pods' start script run with
// stand-in commands and the flags it makes parsed by the node's own config loader; the systemd unit
// checked by systemd-analyze where it is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './pack.js';

const k8sDir = join(repoRoot, 'deploy/kubernetes');
const manifestFiles = ['configmap.yaml', 'services.yaml', 'statefulset.yaml', 'pdb.yaml'];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The schema-checked model of a manifest: validate() throws on anything the API would refuse. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function manifests(): Manifest[] {
  return manifestFiles.flatMap((file) =>
    parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as Manifest;
    }),
  );
}

function validate(m: Manifest): void {
  const Model = models[`${m.apiVersion}/${m.kind}`];
  if (Model === undefined) throw new Error(`no schema for ${m.apiVersion} ${m.kind}`);
  new Model(m as never).validate();
}

function find(all: Manifest[], kind: string, name: string): Manifest {
  const m = all.find((x) => x.kind === kind && x.metadata.name === name);
  if (m === undefined) throw new Error(`no ${kind} ${name}`);
  return m;
}

interface Container {
  command: string[];
  env: { name: string; value?: string }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string }[];
}

interface StatefulSetSpec {
  serviceName: string;
  selector: { matchLabels: Record<string, string> };
  template: {
    metadata: { labels: Record<string, string> };
    spec: {
      containers: Container[];
      volumes: { name: string; configMap?: { name: string } }[];
    };
  };
  volumeClaimTemplates: { metadata: { name: string } }[];
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('deploy/kubernetes', () => {
  it('every manifest validates against the Kubernetes API schemas', () => {
    const all = manifests();
    expect(all.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'ConfigMap/ringstore',
      'PodDisruptionBudget/ringstore',
      'Service/ringstore',
      'Service/ringstore-peers',
      'StatefulSet/ringstore',
    ]);
    for (const m of all) expect(() => validate(m), `${m.kind} ${m.metadata.name}`).not.toThrow();
  });

  it('the schema check can fail: a broken StatefulSet is refused', () => {
    const sts = structuredClone(find(manifests(), 'StatefulSet', 'ringstore'));
    (sts['spec'] as Record<string, unknown>)['replicas'] = 'three';
    expect(() => validate(sts)).toThrow();
    const noSelector = structuredClone(find(manifests(), 'StatefulSet', 'ringstore'));
    delete (noSelector['spec'] as Record<string, unknown>)['selector'];
    expect(() => validate(noSelector)).toThrow();
  });

  it('the pieces fit: selectors, the headless Service, named ports, probes, volumes, the PDB', () => {
    const all = manifests();
    const sts = find(all, 'StatefulSet', 'ringstore')['spec'] as StatefulSetSpec;
    const podLabels = sts.template.metadata.labels;
    for (const [k, v] of Object.entries(sts.selector.matchLabels)) expect(podLabels[k]).toBe(v);
    const headless = find(all, 'Service', sts.serviceName)['spec'] as {
      clusterIP: string;
      publishNotReadyAddresses: boolean;
      selector: Record<string, string>;
      ports: { name: string; targetPort: string }[];
    };
    expect(headless.clusterIP).toBe('None');
    expect(headless.publishNotReadyAddresses).toBe(true);
    const [container] = sts.template.spec.containers;
    const portNames = container!.ports.map((p) => p.name);
    expect(portNames.sort()).toEqual(['client', 'metrics', 'peer']);
    // The client port and the peer port are separate Service ports.
    expect(headless.ports.map((p) => p.targetPort).sort()).toEqual(['client', 'peer']);
    for (const service of all.filter((m) => m.kind === 'Service')) {
      const spec = service['spec'] as {
        selector: Record<string, string>;
        ports: { targetPort: string }[];
      };
      for (const [k, v] of Object.entries(spec.selector)) expect(podLabels[k]).toBe(v);
      for (const p of spec.ports) expect(portNames).toContain(p.targetPort);
    }
    // Ready while it can serve; alive while the process answers (a full disk is not fixed by a
    // restart).
    expect(container!.readinessProbe.httpGet.path).toBe('/healthz');
    expect(container!.livenessProbe.httpGet.path).toBe('/livez');
    for (const probe of [container!.readinessProbe, container!.livenessProbe])
      expect(portNames).toContain(probe.httpGet.port);
    const volumes = new Set([
      ...sts.template.spec.volumes.map((v) => v.name),
      ...sts.volumeClaimTemplates.map((v) => v.metadata.name),
    ]);
    for (const mount of container!.volumeMounts) expect(volumes).toContain(mount.name);
    expect(container!.volumeMounts.find((m) => m.name === 'data')?.mountPath).toBe(
      '/var/lib/ringstore',
    );
    const configMaps = sts.template.spec.volumes.flatMap((v) => v.configMap?.name ?? []);
    for (const name of configMaps) find(all, 'ConfigMap', name);
    const pdb = find(all, 'PodDisruptionBudget', 'ringstore')['spec'] as {
      maxUnavailable: number;
      selector: { matchLabels: Record<string, string> };
    };
    expect(pdb.maxUnavailable).toBe(1);
    for (const [k, v] of Object.entries(pdb.selector.matchLabels)) expect(podLabels[k]).toBe(v);
  });

  /** What start.sh runs for pod `podName`, with stand-ins for getent and ringstore-node. */
  function startScriptArgs(podName: string): string[] {
    const configMap = find(manifests(), 'ConfigMap', 'ringstore')['data'] as Record<string, string>;
    const dir = mkdtempSync(join(tmpdir(), 'ringstore-k8s-start-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'start.sh'), configMap['start.sh']!);
    writeFileSync(join(dir, 'getent'), '#!/bin/sh\nexit 0\n');
    writeFileSync(
      join(dir, 'ringstore-node'),
      '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n',
    );
    chmodSync(join(dir, 'getent'), 0o755);
    chmodSync(join(dir, 'ringstore-node'), 0o755);
    const out = execFileSync('/bin/sh', [join(dir, 'start.sh')], {
      encoding: 'utf8',
      timeout: 10_000,
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        POD_NAME: podName,
        POD_NAMESPACE: 'prod',
        PEERS_SERVICE: 'ringstore-peers',
        INITIAL_NODES: configMap['INITIAL_NODES'],
      },
    });
    return out.trimEnd().split('\n');
  }

  it("the start script makes a founder's flags from its ordinal, and a later pod's --seeds, both as the node parses them", async () => {
    const founder = startScriptArgs('ringstore-1');
    const host = (i: number): string => `ringstore-${i}.ringstore-peers.prod.svc.cluster.local`;
    expect(founder.slice(0, 2)).toEqual(['--id', 'ringstore-1']);
    expect(founder).toContain(`${host(1)}:7001`);
    const members = founder[founder.indexOf('--nodes') + 1];
    expect(members).toBe(
      [0, 1, 2].map((i) => `ringstore-${i}=${host(i)}:7001/${host(i)}:7002`).join(','),
    );
    const later = startScriptArgs('ringstore-4');
    expect(later).not.toContain('--nodes');
    expect(later[later.indexOf('--seeds') + 1]).toBe(`${host(0)}:7002`);
    // The node's own loader accepts them (certificate files are read later, at start).
    const configUrl = pathToFileURL(join(repoRoot, 'apps/storage-node/dist/config.js')).href;
    const { loadConfig } = (await import(configUrl)) as {
      loadConfig: (
        argv: readonly string[],
        env: NodeJS.ProcessEnv,
      ) => { id: string; nodes: unknown };
    };
    expect(loadConfig(founder, {}).id).toBe('ringstore-1');
    expect(loadConfig(later, {}).id).toBe('ringstore-4');
  });
});

describe('deploy/compose', () => {
  it("three TLS nodes whose command lines and environment the node loads, each listed in the others' --nodes", async () => {
    const text = readFileSync(join(repoRoot, 'deploy/compose/compose.yaml'), 'utf8');
    const compose = parseAllDocuments(text, { merge: true })[0]!.toJS() as {
      services: Record<
        string,
        { command: string[]; environment: Record<string, string>; volumes: string[]; image: string }
      >;
    };
    expect(Object.keys(compose.services)).toEqual(['n1', 'n2', 'n3']);
    const configUrl = pathToFileURL(join(repoRoot, 'apps/storage-node/dist/config.js')).href;
    const { loadConfig } = (await import(configUrl)) as {
      loadConfig: (
        argv: readonly string[],
        env: NodeJS.ProcessEnv,
      ) => {
        id: string;
        listen: string;
        peerListen: string;
        certFile: string;
        peerTrustedCaFile: string;
      };
    };
    // The image's own environment (the Dockerfile's ENV: the data directory, the metrics port).
    const dockerfile = readFileSync(join(repoRoot, 'deploy/container/Dockerfile'), 'utf8');
    const imageEnv = Object.fromEntries(
      [...dockerfile.matchAll(/(RINGSTORE_[A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]),
    );
    expect(imageEnv['RINGSTORE_DATA']).toBe('/var/lib/ringstore');
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image).toBe('ringstore:0.2.0');
      const config = loadConfig(service.command, { ...imageEnv, ...service.environment });
      expect(config.id).toBe(name);
      expect(config.certFile).toBe(`/pki/${name}.pem`);
      expect(config.peerTrustedCaFile).toBe('/pki/ca.pem');
      expect(service.environment['RINGSTORE_NODES']).toContain(
        `${name}=${config.listen}/${config.peerListen}`,
      );
      expect(service.volumes).toContain(`${name}-data:/var/lib/ringstore`);
    }
  });
});

describe('deploy/systemd', () => {
  const analyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!analyze)
    process.stderr.write('systemd unit check skipped: systemd-analyze is not installed\n');
  it.skipIf(!analyze)(
    'ringstore-node.service passes systemd-analyze verify without a warning',
    () => {
      const unit = join(repoRoot, 'deploy/systemd/ringstore-node.service');
      const r = spawnSync('systemd-analyze', ['verify', unit], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // And a broken unit is caught: the check can fail.
      const dir = mkdtempSync(join(tmpdir(), 'ringstore-unit-'));
      dirs.push(dir);
      const broken = join(dir, 'ringstore-node.service');
      writeFileSync(
        broken,
        readFileSync(unit, 'utf8').replace('Restart=on-failure', 'Restart=sometimes'),
      );
      const bad = spawnSync('systemd-analyze', ['verify', broken], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(bad.stderr).toContain('restart specifier');
    },
  );
});
