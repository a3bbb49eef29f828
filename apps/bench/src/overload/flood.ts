// Phase 2 and the probe. The flood sends puts whose message is far above the node's client
// message limit (key + value limits + 64 KiB): grpc-js must refuse each as its length prefix
// arrives (RESOURCE_EXHAUSTED), without buffering it. The probe is one Get, timed, on a channel
// dialled beforehand so that it measures the node, not the dial.
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { PutRequest, type KVClient } from '@ringstore/proto';
import { emptyTally, record, statusName, type WaveTally } from './wave.js';

/** The KV service's Put as a path: the flood sends pre-encoded bytes, not a message object. */
const putPath = '/ringstore.v1.KV/Put';
/** Deadline of each flood message: 60 MiB over loopback takes well under a second unrefused. */
export const floodDeadlineMs = 30_000;
/** Deadline of the probe: long enough to tell a slow answer (the report gives it) from none. */
export const probeDeadlineMs = 2_000;
/** Bytes in a MiB. */
const mib = 1024 * 1024;

/**
 * One Put of `valueMib` MiB, encoded once: every flood message sends the same bytes (the
 * client's memory holds one copy, plus grpc-js's framing of each call in flight).
 */
export function encodedHugePut(valueMib: number): Buffer {
  const request = PutRequest.fromPartial({
    key: Buffer.from('overload-flood'),
    value: Buffer.alloc(valueMib * mib, 0x62),
  });
  return Buffer.from(PutRequest.encode(request).finish());
}

/** A channel that sends messages of any size (the node's limit is what is measured). */
export function floodClient(address: string): Client {
  return new Client(address, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.enable_retries': 0,
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** Sends `messages` copies of `encoded` at once; what came back. */
export function flood(client: Client, encoded: Buffer, messages: number): Promise<WaveTally> {
  const tally = emptyTally();
  if (messages === 0) return Promise.resolve(tally);
  return new Promise((resolve) => {
    let left = messages;
    const t0 = performance.now();
    for (let i = 0; i < messages; i++) {
      const startedMs = performance.now();
      client.makeUnaryRequest(
        putPath,
        (b: Buffer) => b,
        (b: Buffer) => b,
        encoded,
        new Metadata(),
        { deadline: Date.now() + floodDeadlineMs },
        (error: ServiceError | null) => {
          record(tally, error, performance.now() - startedMs);
          if (--left > 0) return;
          tally.durationMs = performance.now() - t0;
          resolve(tally);
        },
      );
    }
  });
}

/** What the probe saw: its status name and latency (ms). */
export interface ProbeResult {
  readonly status: string;
  readonly latencyMs: number;
  readonly detail: string;
}

/** One Get on the node, timed. OK (found or not) means the node served it. */
export function probe(client: KVClient): Promise<ProbeResult> {
  const startedMs = performance.now();
  const request = { key: Buffer.from('overload-probe'), r: 0, strictQuorum: false };
  return new Promise((resolve) => {
    client.get(request, new Metadata(), { deadline: Date.now() + probeDeadlineMs }, (error) => {
      const latencyMs = Math.round((performance.now() - startedMs) * 10) / 10;
      resolve({
        status: error === null ? 'OK' : statusName(error.code),
        latencyMs,
        detail: error?.details ?? '',
      });
    });
  });
}
