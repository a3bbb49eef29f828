// A request body that does not decode is the caller's mistake: INVALID_ARGUMENT, never the
// INTERNAL grpc-js answers when a service's deserializer throws. Each service is served with
// deserializers that turn a decode failure into a marked value the handler refuses.
import type { ServiceDefinition } from '@grpc/grpc-js';

const undecodableMark = Symbol('undecodable request');

interface Undecodable {
  readonly [undecodableMark]: string;
}

/** What the deserializer hands the handler instead of a message that did not decode. */
export function isUndecodable(value: unknown): value is Undecodable {
  return typeof value === 'object' && value !== null && undecodableMark in value;
}

/** Why the message did not decode (the decoder's words, at most 200 characters). */
export function undecodableReason(value: Undecodable): string {
  return value[undecodableMark];
}

/** The service with every request deserializer made total: a failure becomes an Undecodable. */
export function tolerant<S extends ServiceDefinition>(service: S): S {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    const decode = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (e) {
          const reason = (e instanceof Error ? e.message : String(e)).slice(0, 200);
          return { [undecodableMark]: reason } satisfies Undecodable;
        }
      },
    };
  }
  return out as S;
}
