import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePorts, freePortsMax, isPortFree } from './free-port.js';

describe('freePorts', () => {
  it('returns distinct ports that can be bound', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const port of ports) expect(await isPortFree(port)).toBe(true);
    expect(await freePort()).toBeGreaterThan(0);
  });

  it('sees a port that is taken', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(await isPortFree(port)).toBe(false);
    } finally {
      server.close();
    }
  });

  it('bounds the count', async () => {
    await expect(freePorts(freePortsMax + 1)).rejects.toThrow(RangeError);
    await expect(freePorts(-1)).rejects.toThrow(RangeError);
  });
});
