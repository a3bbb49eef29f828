// The Python examples of the docs, run as written against a real 3-node cluster: docs/api.md's
// "Python (grpcio)" example and the README's quick-tour call. The stubs are generated from proto/
// the way docs/api.md says (protoc with Debian's gRPC plugin, or grpcio-tools); each `print`'s
// expected output is its trailing comment. Skipped, with the reason printed, where no Python
// imports grpc or no stub generator works.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './cluster.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const ringctl = join(repoRoot, 'apps/ringctl/bin/ringctl.js');
const protos = ['proto/ringstore/v1/kv.proto', 'proto/ringstore/v1/cluster.proto'];
/** Bound on a Python run or a stub generation: interpreter start and a few RPCs. */
const pythonRunMs = 30_000;
const pythonCandidates = ['/usr/bin/python3', 'python3'];

/** The stub generators docs/api.md names, each as it is written there (output to `.`). */
const generators = [
  `protoc -I proto --python_out=. --grpc_python_out=. --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin ${protos.join(' ')}`,
  `python3 -m grpc_tools.protoc -I proto --python_out=. --grpc_python_out=. ${protos.join(' ')}`,
];

/** The fenced blocks of one language in a markdown text (from `section` on, to the next `## `). */
function codeBlocks(markdown: string, language: string, section?: string): string[] {
  let text = markdown;
  if (section !== undefined) {
    const start = text.indexOf(`\n${section}\n`);
    if (start < 0) throw new Error(`no section ${section}`);
    const end = text.indexOf('\n## ', start + section.length + 2);
    text = text.slice(start, end < 0 ? undefined : end);
  }
  const fence = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm');
  return [...text.matchAll(fence)].map((match) => match[1]!);
}

/** What each print of a Python block is expected to show: its comment (a trailing ... : a prefix). */
function expectedPrints(code: string): string[] {
  return code
    .split('\n')
    .filter((line) => /^\s*print\(/.test(line))
    .map((line) => {
      const comment = /#\s*(.*)$/.exec(line)?.[1];
      if (comment === undefined)
        throw new Error(`a print without its output in a comment: ${line}`);
      return comment.replace(/\s*\.\.\.$/, '');
    });
}

interface PythonSetup {
  readonly python: string;
  readonly stubs: string;
}

function run(command: string, args: readonly string[], cwd: string) {
  return spawnSync(command, [...args], { cwd, encoding: 'utf8', timeout: pythonRunMs });
}

/** A Python that imports grpc and stubs generated one of the documented ways, or why not. */
function setUp(stubs: string): PythonSetup | string {
  const python = pythonCandidates.find((p) => run(p, ['-c', 'import grpc'], repoRoot).status === 0);
  if (python === undefined)
    return `no Python imports grpc (tried ${pythonCandidates.join(', ')}): apt-get install python3-grpcio`;
  const failures: string[] = [];
  mkdirSync(stubs, { recursive: true });
  for (const generator of generators) {
    const [program = '', ...args] = generator.replace(/=\. /g, `=${stubs} `).split(' ');
    const result = run(program === 'python3' ? python : program, args, repoRoot);
    if (result.status === 0) return { python, stubs };
    failures.push(`${program}: ${(result.stderr ?? result.error?.message ?? '').split('\n')[0]}`);
  }
  return `no stub generator works (${failures.join('; ')}): apt-get install protobuf-compiler protobuf-compiler-grpc`;
}

const stubsDir = mkdtempSync(join(tmpdir(), 'ringstore-python-'));
const setup = setUp(join(stubsDir, 'stubs'));
if (typeof setup === 'string') {
  rmSync(stubsDir, { recursive: true, force: true });
  process.stderr.write(`Python example tests skipped: ${setup}\n`);
}

describe('the docs name the stub generators this test runs', () => {
  it('docs/api.md shows both commands as written here', () => {
    const api = readFileSync(join(repoRoot, 'docs/api.md'), 'utf8');
    for (const generator of generators) expect(api).toContain(generator);
  });
});

describe.skipIf(typeof setup === 'string')('the Python examples against a real cluster', () => {
  const { python, stubs } = setup as PythonSetup;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      basePort: 0,
      dataDir: join(stubsDir, 'data'),
      extraArgs: ['--log-level', 'warn'],
    });
  }, 90_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(stubsDir, { recursive: true, force: true });
  }, 30_000);

  /** Runs a documented block with its address replaced; the lines it printed. */
  function runExample(code: string, documented: string, address: string): string[] {
    expect(code).toContain(`"${documented}"`);
    // Beside the stubs, as docs/api.md runs it: Python puts the script's directory on its path.
    const file = join(stubs, 'example.py');
    writeFileSync(file, code.replaceAll(`"${documented}"`, `"${address}"`));
    const result = run(python, [file], stubs);
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout.trimEnd().split('\n');
  }

  function expectPrinted(lines: readonly string[], code: string): void {
    const expected = expectedPrints(code);
    expect(lines).toHaveLength(expected.length);
    expected.forEach((prefix, i) => expect(lines[i]!.startsWith(prefix), lines[i]).toBe(true));
  }

  it("docs/api.md's example: siblings from a put without context, merged with one", () => {
    const api = readFileSync(join(repoRoot, 'docs/api.md'), 'utf8');
    const [code, ...more] = codeBlocks(api, 'python', '## Python (grpcio)');
    expect(more).toEqual([]);
    const lines = runExample(code!, '127.0.0.1:7001', cluster!.node('n1').address);
    expectPrinted(lines, code!);
  });

  it("the README's Python call reads what ringctl wrote", () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const [code, ...more] = codeBlocks(readme, 'python');
    expect(more).toEqual([]);
    const put = run(
      process.execPath,
      [ringctl, '--node', cluster!.node('n1').address, 'put', 'greeting', 'hello'],
      repoRoot,
    );
    expect(put.status, put.stderr).toBe(0);
    const lines = runExample(code!, '127.0.0.1:7005', cluster!.node('n3').address);
    expectPrinted(lines, code!);
  });
});
