// grpc.health.v1.Health/Check against a node, and a bounded wait until it answers SERVING.
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/** What Check answers (as the health proto's enum names), or why there was no answer. */
export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: HealthStatus;
}

const checkMethod = healthService['Check'];

const channelOptions: grpc.ChannelOptions = {
  // A node that is still starting refuses connections; retry the connection quickly rather than
  // with grpc-js's default backoff (1 s growing to 120 s), which would stretch start-up waits.
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 250,
  'grpc.min_reconnect_backoff_ms': 50,
  'grpc.use_local_subchannel_pool': 1,
  'grpc.enable_retries': 0,
};

/** A health client for one address; close it when done. */
export function healthClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): grpc.Client {
  return new grpc.Client(address, credentials, channelOptions);
}

/**
 * One Check call for the server's overall health (service ''). Rejects with the gRPC error when
 * there is no answer within deadlineMs (waiting for the connection counts against it).
 */
export function checkHealth(client: grpc.Client, deadlineMs: number): Promise<HealthStatus> {
  if (checkMethod === undefined) throw new Error('grpc.health.v1.Health defines Check');
  const request: HealthCheckRequest = { service: '' };
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<HealthCheckRequest, HealthCheckResponse>(
      checkMethod.path,
      checkMethod.requestSerialize,
      // The health package loads its proto dynamically; its types do not know the message shape.
      checkMethod.responseDeserialize as (bytes: Buffer) => HealthCheckResponse,
      request,
      new grpc.Metadata({ waitForReady: true }),
      { deadline: Date.now() + deadlineMs },
      (error, response) => {
        if (error === null && response !== undefined) resolve(response.status);
        else reject(error ?? new Error('Health/Check answered without a response'));
      },
    );
  });
}

/** Default deadline of one Check: a local node that serves answers in milliseconds. */
export const checkDeadlineMsDefault = 1_000;
/** Default pause between Checks: a start is noticed within a tenth of a second, at little cost. */
export const pollIntervalMsDefault = 100;

export interface WaitForServingOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Deadline of each Check call. */
  readonly checkDeadlineMs?: number;
  /** Pause between Check calls that did not answer SERVING. */
  readonly pollIntervalMs?: number;
  /** Called between attempts; a string stops the wait early with that reason (e.g. the process exited). */
  readonly abortReason?: () => string | undefined;
  /** TLS to the client port (plaintext when absent). */
  readonly credentials?: grpc.ChannelCredentials | undefined;
}

export type WaitResult =
  { readonly serving: true } | { readonly serving: false; readonly reason: string };

/** Polls Check until the address answers SERVING, the time runs out, or abortReason says stop. */
export async function waitForServing(
  address: string,
  options: WaitForServingOptions,
): Promise<WaitResult> {
  const client = healthClient(address, options.credentials);
  const giveUpAtMs = Date.now() + options.timeoutMs;
  let lastAnswer = 'no answer yet';
  try {
    for (;;) {
      const aborted = options.abortReason?.();
      if (aborted !== undefined) return { serving: false, reason: aborted };
      const remainingMs = giveUpAtMs - Date.now();
      if (remainingMs <= 0)
        return {
          serving: false,
          reason: `not SERVING after ${options.timeoutMs} ms (${lastAnswer})`,
        };
      try {
        const status = await checkHealth(
          client,
          Math.min(options.checkDeadlineMs ?? checkDeadlineMsDefault, remainingMs),
        );
        if (status === 'SERVING') return { serving: true };
        lastAnswer = `last answer ${status}`;
      } catch (error) {
        lastAnswer = `last error ${(error as Error).message}`;
      }
      await sleep(options.pollIntervalMs ?? pollIntervalMsDefault);
    }
  } finally {
    client.close();
  }
}
