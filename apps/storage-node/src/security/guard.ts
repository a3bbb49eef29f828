// The client port's gate, run before any work for a request (docs/security.md): a deadline that
// has passed, authentication and role (bearer tokens), the caller's rate limit, then admission
// (requests and bytes in progress). What it refuses is provably not applied.
import type { Metadata } from '@grpc/grpc-js';
import type { RingstoreError } from '../errors.js';
import { refused } from '../errors.js';
import type { Logger } from '../logger.js';
import { Admission, deadlinePassed, type AdmissionLimits } from './admission.js';
import { RateLimiter, rateLimitMetadata, type RateLimits } from './rate-limit.js';
import { authorize, consoleApiPath, type Authorization } from './roles.js';
import { loadTokenFile, type Principal, type TokenTable } from './tokens.js';

/** Why the gate refused a request: the label values of ringstore_requests_refused_total. */
export type RefusalKind =
  'deadline' | 'unauthenticated' | 'permission_denied' | 'rate_limited' | 'overloaded';

export const refusalKinds: readonly RefusalKind[] = [
  'deadline',
  'unauthenticated',
  'permission_denied',
  'rate_limited',
  'overloaded',
];

/** The name rate limits count a caller under when it sent no token (auth off). */
export const anonymous = 'anonymous';

export interface Admitted {
  readonly principal: Principal | undefined;
  /** Response metadata for the caller (its rate limit and what is left of it). */
  readonly headers: readonly (readonly [string, string])[];
  /** Ends the request's share of the admission limits (idempotent). */
  leave(): void;
}

export interface GuardOptions {
  /** '' = no authentication. */
  readonly authTokenFile: string;
  readonly rateLimits: RateLimits;
  readonly admission: AdmissionLimits;
  readonly log: Logger;
  readonly onRefused?: (kind: RefusalKind) => void;
}

/** A refusal with the trailers that tell the caller when to retry. */
function exhausted(
  message: string,
  trailers: readonly (readonly [string, string])[],
): RingstoreError {
  const e = refused('resource-exhausted', message);
  e.trailers = trailers;
  return e;
}

/** Bytes a request holds in memory while it is served: its byte and string fields. */
export function requestBytes(request: unknown, depth = 0): number {
  if (typeof request !== 'object' || request === null || depth > requestDepthMax) return 0;
  let bytes = 0;
  for (const v of Object.values(request as Record<string, unknown>)) {
    if (v instanceof Uint8Array) bytes += v.length;
    else if (typeof v === 'string') bytes += v.length;
    else if (typeof v === 'object' && v !== null) bytes += requestBytes(v, depth + 1);
  }
  return bytes;
}

/**
 * Nesting requestBytes follows: a batch (request -> items -> item -> oneof -> request) is four
 * levels; the client messages nest no deeper, and the bound keeps a hostile shape cheap.
 */
export const requestDepthMax = 6;

export class ClientGuard {
  private tokens: TokenTable | undefined;
  private readonly limiter: RateLimiter;
  readonly admission: Admission;

  constructor(private readonly options: GuardOptions) {
    this.tokens = this.loadTokens();
    this.limiter = new RateLimiter(options.rateLimits);
    this.admission = new Admission({ now: () => performance.now(), ...options.admission });
    const log = options.log;
    if (this.tokens === undefined)
      log.info(
        'no --auth-token-file: clients are not authenticated (any caller may read and write)',
      );
    else log.info({ tokens: this.tokens.size }, 'bearer token authentication on');
    const known = this.tokens?.names() ?? new Set<string>();
    for (const name of options.rateLimits.byName.keys())
      if (!known.has(name) && name !== anonymous)
        log.warn({ name }, '--rate-limit names a client no token is given to');
  }

  /** Whether clients must present a token. */
  get authenticating(): boolean {
    return this.tokens !== undefined;
  }

  /** SIGHUP: re-reads the token file; a broken file keeps the old tokens (and is logged). */
  reload(): void {
    if (this.options.authTokenFile === '') return;
    try {
      this.tokens = this.loadTokens();
      this.options.log.info({ tokens: this.tokens?.size }, 'token file re-read (SIGHUP)');
    } catch (e) {
      this.options.log.error(
        { reason: (e as Error).message },
        'token file not re-read: kept the old tokens',
      );
    }
  }

  /**
   * Lets a request in or throws the refusal (RingstoreError, nothing applied): a passed deadline
   * DEADLINE_EXCEEDED, no or an unknown token UNAUTHENTICATED, a role too low PERMISSION_DENIED
   * (neither says anything of the key), over the rate limit or the node's admission limits
   * RESOURCE_EXHAUSTED with retry-after-ms.
   */
  /** `units`: operations the request carries (a batch's items), for the rate limit and admission. */
  admit(path: string, metadata: Metadata, bytes: number, deadlineMs: number, units = 1): Admitted {
    if (deadlinePassed(deadlineMs, Date.now()))
      throw this.refuse(
        'deadline',
        refused('deadline-exceeded', 'the deadline passed before the request started'),
      );
    const auth = authorize(this.tokens, path, metadata.get('authorization'));
    if (!auth.ok) {
      const kind = auth.code === 'unauthenticated' ? 'unauthenticated' : 'permission_denied';
      throw this.refuse(kind, refused(auth.code, auth.message));
    }
    const name = auth.principal?.name ?? anonymous;
    const rate = this.limiter.take(name, performance.now(), units);
    const headers = rateLimitMetadata(rate);
    if (!rate.allowed)
      throw this.refuse(
        'rate_limited',
        exhausted(`rate limit of ${name}: retry in ${rate.retryAfterMs} ms`, headers),
      );
    const ticket = this.admission.tryEnter(bytes, units);
    if (ticket.refused)
      throw this.refuse(
        'overloaded',
        exhausted(
          `node overloaded (${ticket.reason === 'requests' ? 'requests' : 'bytes'} in progress at the limit): retry in ${ticket.retryAfterMs} ms`,
          [['retry-after-ms', String(ticket.retryAfterMs)]],
        ),
      );
    return { principal: auth.principal, headers, leave: () => ticket.leave() };
  }

  /** The web console API's check: the admin role, from an HTTP `authorization` header. */
  authorizeAdmin(authorization: string | undefined): Authorization {
    return authorize(this.tokens, consoleApiPath, authorization);
  }

  private refuse(kind: RefusalKind, e: RingstoreError): RingstoreError {
    this.options.onRefused?.(kind);
    return e;
  }

  private loadTokens(): TokenTable | undefined {
    if (this.options.authTokenFile === '') return undefined;
    const { table, warnings } = loadTokenFile(this.options.authTokenFile);
    for (const w of warnings) this.options.log.warn({ file: this.options.authTokenFile }, w);
    return table;
  }
}
