import { describe, expect, it } from 'vitest';
import { run } from './run.js';

function captureIo(): { io: Parameters<typeof run>[1]; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, out: () => out, err: () => err };
}

describe('ringstore-bench (smoke: the CI variant of npm run bench)', () => {
  it('runs a 1-second mixed load against a local 3-node cluster and reports throughput and latency', async () => {
    const { io, out, err } = captureIo();
    const code = await run(['--seconds', '1', '--concurrency', '8', '--keys', '100', '--workload', 'mixed', '--json'], io);
    expect(code, err()).toBe(0);
    const result = JSON.parse(out()) as { ok: number; errors: number; opsPerSecond: number; durationMs: number; latencyMs: { p50: number; p99: number; max: number } };
    expect(result.errors).toBe(0);
    expect(result.ok).toBeGreaterThan(0);
    expect(result.opsPerSecond).toBe(Math.round((result.ok * 1000) / result.durationMs));
    expect(result.latencyMs.p50).toBeGreaterThan(0);
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
    expect(result.latencyMs.max).toBeGreaterThanOrEqual(result.latencyMs.p99);
  }, 90_000);

  it('drives the same load through the smart client with zero-hop routing', async () => {
    const { io, out, err } = captureIo();
    const code = await run(['--seconds', '1', '--concurrency', '4', '--keys', '50', '--client', 'zero-hop', '--json'], io);
    expect(code, err()).toBe(0);
    const result = JSON.parse(out()) as { ok: number; errors: number; client: string };
    expect(result.client).toBe('zero-hop');
    expect(result.errors).toBe(0);
    expect(result.ok).toBeGreaterThan(0);
  }, 90_000);

  it.each([
    [['--seconds', '0']],
    [['--concurrency', 'lots']],
    [['--workload', 'scan']],
    [['--client', 'telepathy']],
    [['--nodes', '99']],
  ])('refuses bad flags %j with exit code 2', async (argv) => {
    const { io, err } = captureIo();
    expect(await run(argv, io)).toBe(2);
    expect(err()).toMatch(/error/);
  });
});
