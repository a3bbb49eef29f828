import { connectivityState } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { NodePool, type NodeStubs } from './node-pool.js';
import { channelOptionsDefault } from './options.js';
import { transportOf } from './transport.js';

// Channels connect lazily: these addresses are never dialled, only opened and closed.
const a = '127.0.0.1:1';
const b = '127.0.0.1:2';

const pools: NodePool[] = [];

function poolOf(channelsMax = 8): NodePool {
  const pool = new NodePool(channelOptionsDefault, channelsMax, transportOf(undefined, undefined));
  pools.push(pool);
  return pool;
}

afterEach(() => {
  for (const pool of pools.splice(0)) pool.close();
});

function stateOf(stubs: NodeStubs): connectivityState {
  return stubs.kv.getChannel().getConnectivityState(false);
}

/** The stubs `use` handed out, the call resolved at once. */
async function stubsOf(pool: NodePool, address: string): Promise<NodeStubs> {
  return pool.use(address, (stubs) => Promise.resolve(stubs));
}

describe('NodePool', () => {
  it('opens a channel on first use only, and reuses it', async () => {
    const pool = poolOf();
    pool.retain(new Set([a, b]));
    expect(pool.size).toBe(0);
    const first = await stubsOf(pool, a);
    expect(await stubsOf(pool, a)).toBe(first);
    expect(pool.size).toBe(1);
    expect(stateOf(first)).not.toBe(connectivityState.SHUTDOWN);
  });

  it('closes the channel of a node no longer retained at once when no call uses it', async () => {
    const pool = poolOf();
    pool.retain(new Set([a, b]));
    const stubsA = await stubsOf(pool, a);
    const stubsB = await stubsOf(pool, b);
    pool.retain(new Set([a]));
    expect(stateOf(stubsB)).toBe(connectivityState.SHUTDOWN);
    expect(stateOf(stubsA)).not.toBe(connectivityState.SHUTDOWN);
    expect(pool.size).toBe(1);
  });

  it('keeps a removed node its channel until the last call on it ends', async () => {
    const pool = poolOf();
    pool.retain(new Set([a, b]));
    let finish = (): void => undefined;
    const running = pool.use(
      b,
      (stubs) =>
        new Promise<NodeStubs>((resolve) => {
          finish = () => resolve(stubs);
        }),
    );
    const second = pool.use(b, (stubs) => Promise.resolve(stubs));
    pool.retain(new Set([a]));
    const stubsB = await second;
    // One call still runs: open, though b left.
    expect(stateOf(stubsB)).not.toBe(connectivityState.SHUTDOWN);
    expect(pool.size).toBe(1);
    finish();
    expect(await running).toBe(stubsB);
    expect(stateOf(stubsB)).toBe(connectivityState.SHUTDOWN);
    expect(pool.size).toBe(0);
  });

  it('closes a channel opened for an address outside the ring once its call ends', async () => {
    const pool = poolOf();
    pool.retain(new Set([a]));
    const seed = await stubsOf(pool, b);
    expect(stateOf(seed)).toBe(connectivityState.SHUTDOWN);
    expect(pool.size).toBe(0);
  });

  it('keeps every channel before the first retain (connect fetching from its seeds)', async () => {
    const pool = poolOf();
    const seed = await stubsOf(pool, b);
    expect(stateOf(seed)).not.toBe(connectivityState.SHUTDOWN);
    pool.retain(new Set([a]));
    expect(stateOf(seed)).toBe(connectivityState.SHUTDOWN);
  });

  it('makes room by closing an idle channel rather than one in use', async () => {
    const pool = poolOf(2);
    let finish = (): void => undefined;
    const busy = pool.use(
      a,
      (stubs) =>
        new Promise<NodeStubs>((resolve) => {
          finish = () => resolve(stubs);
        }),
    );
    const idle = await stubsOf(pool, b);
    await stubsOf(pool, '127.0.0.1:3');
    expect(stateOf(idle)).toBe(connectivityState.SHUTDOWN);
    finish();
    expect(stateOf(await busy)).not.toBe(connectivityState.SHUTDOWN);
    expect(pool.size).toBe(2);
  });
});
