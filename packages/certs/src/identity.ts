// Who is on the other end of a TLS connection: the node id or client name its certificate
// carries. Pure: the node hands over what node:tls or node:crypto parsed, and gets a name or
// undefined. Undefined whenever anything is off (no such SAN, two of them, a malformed list):
// callers treat it as "not identified" and refuse.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { namePattern } from './names.js';

/** The SAN URI of a node certificate is this prefix and the node id. */
export const nodeUriPrefix = 'urn:ringstore:node:';
/** The SAN URI of a client certificate is this prefix and the client name. */
export const clientUriPrefix = 'urn:ringstore:client:';

/** A certificate as node:tls hands it over (getPeerCertificate()) or as node:crypto parses it. */
export type CertificateLike = PeerCertificate | X509Certificate;

/** One entry of a subject alternative name list, as Node prints it: `URI`, `DNS`, `IP Address`. */
export interface AltName {
  readonly type: string;
  readonly value: string;
}

export function nodeUri(id: string): string {
  return `${nodeUriPrefix}${id}`;
}

export function clientUri(name: string): string {
  return `${clientUriPrefix}${name}`;
}

/** The node id of a node certificate: its one `urn:ringstore:node:ID` URI; otherwise undefined. */
export function nodeIdOf(cert: CertificateLike | undefined): string | undefined {
  return uriName(altNamesOf(cert), nodeUriPrefix);
}

/**
 * The client name of a certificate: its one `urn:ringstore:client:NAME` URI, else (when it has
 * no such URI) its subject CN; undefined when neither is a valid name, or there are several.
 */
export function clientNameOf(cert: CertificateLike | undefined): string | undefined {
  const altNames = altNamesOf(cert);
  if (altNames === undefined) return undefined;
  const uris = altNames.filter(isUriWith(clientUriPrefix));
  if (uris.length > 0) return uriName(altNames, clientUriPrefix);
  return commonNameOf(cert);
}

/**
 * The entries of a subjectaltname string such as `DNS:localhost, IP Address:127.0.0.1,
 * URI:urn:ringstore:node:n1`. Node writes a value that holds a comma, a quote, a backslash or a
 * control character as a JSON string (`URI:"urn:a,b"`), so the list splits unambiguously.
 * Undefined when the text does not follow that form.
 */
export function parseAltNames(text: string): AltName[] | undefined {
  if (text === '') return [];
  const entries: AltName[] = [];
  // Each pass consumes one entry and its separator, so the loop ends within text.length passes.
  for (let at = 0; ; at += 2) {
    const entry = parseAltName(text, at);
    if (entry === undefined) return undefined;
    entries.push(entry.altName);
    at = entry.end;
    if (at === text.length) return entries;
    if (!text.startsWith(', ', at)) return undefined;
  }
}

function parseAltName(text: string, start: number): { altName: AltName; end: number } | undefined {
  const colon = text.indexOf(':', start);
  const type = text.slice(start, colon);
  if (colon < 0 || !/^[A-Za-z][A-Za-z ]*$/.test(type)) return undefined;
  const valueStart = colon + 1;
  if (text[valueStart] !== '"') {
    const comma = text.indexOf(', ', valueStart);
    const end = comma < 0 ? text.length : comma;
    return { altName: { type, value: text.slice(valueStart, end) }, end };
  }
  const end = jsonStringEnd(text, valueStart);
  if (end === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text.slice(valueStart, end));
    return typeof value === 'string' ? { altName: { type, value }, end } : undefined;
  } catch {
    return undefined;
  }
}

/** The index just past the closing quote of the JSON string that opens at `start`. */
function jsonStringEnd(text: string, start: number): number | undefined {
  for (let at = start + 1; at < text.length; at++) {
    if (text[at] === '\\') at++;
    else if (text[at] === '"') return at + 1;
  }
  return undefined;
}

/** The SAN entries; [] for a certificate without SANs; undefined when unreadable. */
function altNamesOf(cert: CertificateLike | undefined): AltName[] | undefined {
  if (cert === undefined || cert === null) return undefined;
  const text: unknown = cert instanceof X509Certificate ? cert.subjectAltName : cert.subjectaltname;
  if (text === undefined) return [];
  return typeof text === 'string' ? parseAltNames(text) : undefined;
}

function isUriWith(prefix: string): (altName: AltName) => boolean {
  return (altName) => altName.type === 'URI' && altName.value.startsWith(prefix);
}

/** The name after `prefix` in the one URI that starts with it. */
function uriName(altNames: AltName[] | undefined, prefix: string): string | undefined {
  const uris = altNames?.filter(isUriWith(prefix)) ?? [];
  const [uri] = uris;
  if (uri === undefined || uris.length > 1) return undefined;
  const name = uri.value.slice(prefix.length);
  return namePattern.test(name) ? name : undefined;
}

function commonNameOf(cert: CertificateLike | undefined): string | undefined {
  if (cert === undefined) return undefined;
  const subject: unknown =
    cert instanceof X509Certificate ? cert.toLegacyObject().subject : cert.subject;
  if (typeof subject !== 'object' || subject === null) return undefined;
  // Node gives an array when the subject has several CNs: ambiguous, so none.
  const cn: unknown = (subject as Record<string, unknown>)['CN'];
  return typeof cn === 'string' && namePattern.test(cn) ? cn : undefined;
}
