// The one error class of @ringstore/certs. Every operating error (bad input, a missing or broken
// CA, a file that cannot be written) is a CertsError with a stable code; callers decide from the
// code, people read the message.

export type CertsErrorCode =
  /** An id or name is not 1-64 letters, digits, _ . - (or is reserved: ca, *-key). */
  | 'bad-name'
  /** A host is neither an IP address nor a DNS name, or there are none or too many. */
  | 'bad-host'
  /** days is not an integer in range. */
  | 'bad-days'
  /** ca.pem or ca-key.pem is not in the directory. */
  | 'ca-missing'
  /** ca.pem or ca-key.pem is unreadable, not a P-256 CA, expired, or the two do not match. */
  | 'ca-invalid'
  /** createCa would overwrite ca-key.pem (pass force). */
  | 'ca-exists'
  /** The file to write holds a certificate of another kind (a node's, a client's, the CA). */
  | 'name-taken'
  /** The directory or a file could not be created or written. */
  | 'io';

export class CertsError extends Error {
  override readonly name = 'CertsError';

  constructor(
    readonly code: CertsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of anything thrown, for wrapping a system error into a CertsError. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
