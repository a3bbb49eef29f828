// Validation of what goes into a certificate: ids, names, hosts, lifetimes. Pure: text in, a
// value out or a CertsError.
import { isIPv4, isIPv6 } from 'node:net';
import { CertsError } from './errors.js';

/**
 * Node ids and client names: what a storage node accepts for --id and a token file for names
 * (1-64 letters, digits, _ . -, starting with a letter or digit). They become file names and the
 * last part of a URI, so nothing else may appear in them.
 */
export const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/**
 * Hosts one node certificate names: a node answers on a handful of names and addresses; hundreds
 * would be a script gone wrong, and every TLS handshake carries the list.
 */
export const hostsMax = 64;
/** Longest lifetime accepted, a century: anything longer is a typo. */
export const daysMax = 36_500;
/** Longest DNS name (RFC 1035, without the trailing dot). */
const dnsNameLengthMax = 253;
/** Longest custom CA name: the CN is at most 64 characters, and the random suffix takes 9. */
export const caNameLengthMax = 55;

const dnsLabelPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const caNamePattern = /^[A-Za-z0-9][A-Za-z0-9 _.-]*$/;

/** A subject alternative name of a node certificate: a DNS name or an IP address. */
export interface HostName {
  readonly type: 'dns' | 'ip';
  /** The DNS name in lower case, or the IP address (IPv6 without brackets, in hex groups). */
  readonly value: string;
}

/**
 * A node id or client name. `ca` is the CA's file name, and a name ending in -key would take the
 * key file of another (n1-key.pem is n1's key), so both are refused, in any case (file systems
 * may ignore case).
 */
export function parseName(what: string, text: string): string {
  if (!namePattern.test(text)) {
    throw new CertsError(
      'bad-name',
      `${what} must be 1-64 letters, digits, _ . - (starting with a letter or digit), got '${shown(text)}'`,
    );
  }
  const lower = text.toLowerCase();
  if (lower === 'ca' || lower.endsWith('-key')) {
    throw new CertsError(
      'bad-name',
      `${what} '${text}' is reserved: ca.pem and NAME-key.pem are file names of the directory`,
    );
  }
  return text;
}

/** The hosts of a node certificate, each once, in the order given. */
export function parseHosts(hosts: readonly string[]): HostName[] {
  if (hosts.length === 0) {
    throw new CertsError('bad-host', 'a node certificate needs at least one host (name or IP)');
  }
  if (hosts.length > hostsMax) {
    throw new CertsError('bad-host', `at most ${hostsMax} hosts, got ${hosts.length}`);
  }
  const parsed = hosts.map(parseHost);
  const seen = new Set<string>();
  return parsed.filter((host) => {
    const key = `${host.type}:${host.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One host: an IPv4 address, an IPv6 address (brackets allowed), or a DNS name. */
export function parseHost(text: string): HostName {
  if (isIPv4(text)) return { type: 'ip', value: text };
  const unbracketed = /^\[(.*)\]$/.exec(text)?.[1] ?? text;
  if (isIPv6(unbracketed)) {
    if (unbracketed.includes('%')) {
      throw new CertsError(
        'bad-host',
        `host '${shown(text)}' has a zone id (%...): certificates name addresses without one`,
      );
    }
    return { type: 'ip', value: ipv6HexGroups(unbracketed) };
  }
  if (isDnsName(text)) return { type: 'dns', value: text.toLowerCase() };
  throw new CertsError(
    'bad-host',
    `host '${shown(text)}' is neither an IP address nor a DNS name (letters, digits, - and dots)`,
  );
}

function isDnsName(text: string): boolean {
  if (text.length === 0 || text.length > dnsNameLengthMax) return false;
  const labels = text.split('.');
  // An all-numeric last label would be read as a malformed IPv4 address (RFC 3696 section 2).
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) return false;
  return labels.every((label) => dnsLabelPattern.test(label));
}

/**
 * `::ffff:10.0.0.1` as `::ffff:a00:1`: certificates carry the 16 bytes either way, and the
 * certificate library reads hex groups only.
 */
function ipv6HexGroups(address: string): string {
  const match = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (match === null) return address.toLowerCase();
  const [a = 0, b = 0, c = 0, d = 0] = (match[2] ?? '').split('.').map(Number);
  const high = ((a << 8) | b).toString(16);
  const low = ((c << 8) | d).toString(16);
  return `${(match[1] ?? '').toLowerCase()}${high}:${low}`;
}

/** A lifetime in days: a whole number from 1 to daysMax. */
export function parseDays(days: number): number {
  if (!Number.isSafeInteger(days) || days < 1 || days > daysMax) {
    throw new CertsError('bad-days', `days must be an integer from 1 to ${daysMax}, got ${days}`);
  }
  return days;
}

/** The prefix of a CA's CN (the default is "Ringstore cluster CA"). */
export function parseCaName(text: string): string {
  if (text.length > caNameLengthMax || !caNamePattern.test(text)) {
    throw new CertsError(
      'bad-name',
      `the CA name must be 1-${caNameLengthMax} letters, digits, spaces, _ . - ` +
        `(starting with a letter or digit), got '${shown(text)}'`,
    );
  }
  return text;
}

/** Input echoed in a message, cut short: it is operator input, but may be anything. */
function shown(text: string): string {
  const shownCharsMax = 80;
  const cut = text.length > shownCharsMax ? `${text.slice(0, shownCharsMax)}...` : text;
  return JSON.stringify(cut).slice(1, -1);
}
