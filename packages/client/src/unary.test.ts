import { EventEmitter } from 'node:events';
import {
  Metadata,
  connectivityState,
  type ChannelInterface,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { callWhenConnected, connectWaitMsMax, type InflightCalls } from './unary.js';

/**
 * A channel that walks through `script` one state per watch (as grpc-js reports changes), and
 * stays in its last state until the watch's deadline once the script is used up.
 */
function scriptedChannel(first: connectivityState, script: connectivityState[]) {
  let current = first;
  const asked: boolean[] = [];
  const channel = {
    getConnectivityState: (tryToConnect: boolean) => {
      asked.push(tryToConnect);
      return current;
    },
    watchConnectivityState: (
      from: connectivityState,
      deadline: number | Date,
      callback: (error?: Error) => void,
    ) => {
      expect(from).toBe(current);
      const next = script.shift();
      if (next === undefined) {
        setTimeout(() => callback(new Error('deadline')), Number(deadline) - Date.now());
        return;
      }
      setImmediate(() => {
        current = next;
        callback();
      });
    },
  };
  return { channel: channel as unknown as ChannelInterface, asked };
}

/** A unary method that answers 'ok' on the next turn and counts its calls. */
function answeringMethod() {
  const sent: string[] = [];
  const method = (
    request: string,
    _metadata: unknown,
    _options: unknown,
    callback: (error: ServiceError | null, response: string) => void,
  ): ClientUnaryCall => {
    sent.push(request);
    setImmediate(() => callback(null, 'ok'));
    return new EventEmitter() as unknown as ClientUnaryCall;
  };
  return { method, sent };
}

const inflight: InflightCalls = new Set();

afterEach(() => {
  vi.useRealTimers();
});

describe('callWhenConnected', () => {
  it('sends on a READY channel', async () => {
    const { channel } = scriptedChannel(connectivityState.READY, []);
    const { method, sent } = answeringMethod();
    const outcome = await callWhenConnected(
      channel,
      method,
      'put',
      new Metadata(),
      Date.now() + 1_000,
      inflight,
    );
    expect(outcome).toMatchObject({ ok: true, response: 'ok' });
    expect(sent).toEqual(['put']);
  });

  it.each([connectivityState.TRANSIENT_FAILURE, connectivityState.SHUTDOWN])(
    'does not send on a channel in state %s, and does not wait',
    async (state) => {
      vi.useFakeTimers();
      const { channel } = scriptedChannel(state, []);
      const { method, sent } = answeringMethod();
      const outcome = await callWhenConnected(
        channel,
        method,
        'put',
        new Metadata(),
        Date.now() + 1_000,
        inflight,
      );
      expect(outcome).toEqual({ sent: false, channelState: connectivityState[state] });
      expect(sent).toEqual([]);
    },
  );

  it('asks an idle channel to connect and sends once it is READY', async () => {
    const { channel, asked } = scriptedChannel(connectivityState.IDLE, [
      connectivityState.CONNECTING,
      connectivityState.READY,
    ]);
    const { method, sent } = answeringMethod();
    const outcome = await callWhenConnected(
      channel,
      method,
      'put',
      new Metadata(),
      Date.now() + 1_000,
      inflight,
    );
    expect(outcome).toMatchObject({ ok: true });
    expect(sent).toEqual(['put']);
    expect(asked.every((tryToConnect) => tryToConnect)).toBe(true);
  });

  it('does not send when connecting ends in TRANSIENT_FAILURE', async () => {
    const { channel } = scriptedChannel(connectivityState.CONNECTING, [
      connectivityState.TRANSIENT_FAILURE,
    ]);
    const { method, sent } = answeringMethod();
    const outcome = await callWhenConnected(
      channel,
      method,
      'put',
      new Metadata(),
      Date.now() + 1_000,
      inflight,
    );
    expect(outcome).toEqual({ sent: false, channelState: 'TRANSIENT_FAILURE' });
    expect(sent).toEqual([]);
  });

  it('gives up on a channel still connecting after connectWaitMsMax', async () => {
    vi.useFakeTimers();
    const { channel } = scriptedChannel(connectivityState.CONNECTING, []);
    const { method, sent } = answeringMethod();
    let settled: unknown;
    void callWhenConnected(
      channel,
      method,
      'put',
      new Metadata(),
      Date.now() + 10_000,
      inflight,
    ).then((o) => {
      settled = o;
    });
    await vi.advanceTimersByTimeAsync(connectWaitMsMax - 1);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual({ sent: false, channelState: 'CONNECTING' });
    expect(sent).toEqual([]);
  });

  it('gives up at the attempt deadline when it comes first', async () => {
    vi.useFakeTimers();
    const { channel } = scriptedChannel(connectivityState.IDLE, []);
    const { method, sent } = answeringMethod();
    let settled: unknown;
    void callWhenConnected(channel, method, 'put', new Metadata(), Date.now() + 50, inflight).then(
      (o) => {
        settled = o;
      },
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(settled).toEqual({ sent: false, channelState: 'IDLE' });
    expect(sent).toEqual([]);
  });
});
