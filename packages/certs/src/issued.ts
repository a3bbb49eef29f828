// What a create* function reports: the files it wrote and the certificate's main fields, read
// back from the PEM with node:crypto (what a TLS peer will see, not what was asked for).
import { X509Certificate } from 'node:crypto';
import { parseAltNames } from './identity.js';

export type CertKind = 'ca' | 'node' | 'client';

export interface IssuedCert {
  readonly kind: CertKind;
  readonly certFile: string;
  readonly keyFile: string;
  /** The subject as node:crypto prints it, e.g. "CN=n1". */
  readonly subject: string;
  /** The subject alternative names, e.g. ["DNS:localhost", "URI:urn:ringstore:node:n1"]. */
  readonly altNames: readonly string[];
  /** Hex, upper case, as node:crypto prints it. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the DER certificate, as colon-separated hex (compare with openssl x509 -fingerprint). */
  readonly fingerprint256: string;
}

/**
 * Backdating of notBefore: a peer whose clock is a little behind the issuing machine's would
 * otherwise reject a certificate made a moment ago as "not yet valid".
 */
export const clockSkewMs = 5 * 60_000;
const dayMs = 86_400_000;

/** notBefore and notAfter of a certificate made now for `days`, never past `notAfterMax`. */
export function lifetime(
  days: number,
  notAfterMax: Date | undefined,
  now = new Date(),
): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(now.getTime() - clockSkewMs);
  const wanted = new Date(now.getTime() + days * dayMs);
  const notAfter = notAfterMax !== undefined && notAfterMax < wanted ? notAfterMax : wanted;
  return { notBefore, notAfter };
}

export function describeIssued(
  kind: CertKind,
  certFile: string,
  keyFile: string,
  certPem: string,
): IssuedCert {
  const certificate = new X509Certificate(certPem);
  const altNames = parseAltNames(certificate.subjectAltName ?? '') ?? [];
  return {
    kind,
    certFile,
    keyFile,
    subject: certificate.subject,
    altNames: altNames.map((altName) => `${altName.type}:${altName.value}`),
    serialNumber: certificate.serialNumber,
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    fingerprint256: certificate.fingerprint256,
  };
}
