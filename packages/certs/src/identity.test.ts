import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { clientNameOf, nodeIdOf, parseAltNames } from './index.js';

/** A peer certificate as node:tls hands it over, with only the fields the helpers read. */
function peer(subjectaltname: string | undefined, cn?: unknown): PeerCertificate {
  return {
    ...(subjectaltname === undefined ? {} : { subjectaltname }),
    subject: cn === undefined ? {} : { CN: cn },
  } as unknown as PeerCertificate;
}

describe('parseAltNames', () => {
  it('splits the list Node prints', () => {
    expect(parseAltNames('DNS:localhost, IP Address:127.0.0.1, URI:urn:ringstore:node:n1')).toEqual(
      [
        { type: 'DNS', value: 'localhost' },
        { type: 'IP Address', value: '127.0.0.1' },
        { type: 'URI', value: 'urn:ringstore:node:n1' },
      ],
    );
  });

  it('reads values Node quoted as JSON strings, commas and quotes inside', () => {
    expect(
      parseAltNames('URI:"urn:ringstore:node:n1, URI:urn:ringstore:node:n2", DNS:"a\\"b", DNS:c'),
    ).toEqual([
      { type: 'URI', value: 'urn:ringstore:node:n1, URI:urn:ringstore:node:n2' },
      { type: 'DNS', value: 'a"b' },
      { type: 'DNS', value: 'c' },
    ]);
  });

  it('keeps spaces inside an unquoted value and reads the empty list', () => {
    expect(parseAltNames('othername:<unsupported>, DirName:CN=a b')).toEqual([
      { type: 'othername', value: '<unsupported>' },
      { type: 'DirName', value: 'CN=a b' },
    ]);
    expect(parseAltNames('')).toEqual([]);
  });

  it.each([
    'URI:"unterminated',
    'URI:"a"b',
    'URI:"a",DNS:b',
    'no colon here',
    ', DNS:a',
    'DNS:a, ',
    '1NS:a',
  ])('refuses the malformed %j', (text) => {
    expect(parseAltNames(text)).toBeUndefined();
  });
});

describe('nodeIdOf', () => {
  it('reads the id from the one node URI', () => {
    expect(nodeIdOf(peer('DNS:localhost, URI:urn:ringstore:node:n1'))).toBe('n1');
    expect(nodeIdOf(peer('URI:urn:ringstore:node:node-7.a_b'))).toBe('node-7.a_b');
  });

  it.each([
    ['no SAN at all', undefined],
    ['no node URI', 'DNS:n1, URI:urn:ringstore:client:n1'],
    ['two node URIs', 'URI:urn:ringstore:node:n1, URI:urn:ringstore:node:n2'],
    ['two node URIs, one the same', 'URI:urn:ringstore:node:n1, URI:urn:ringstore:node:n1'],
    ['an empty id', 'URI:urn:ringstore:node:'],
    ['an id that is no valid id', 'URI:urn:ringstore:node:n1/x'],
    ['a quoted URI hiding a second one', 'URI:"urn:ringstore:node:n1, URI:urn:ringstore:node:n2"'],
    ['a malformed list', 'URI:urn:ringstore:node:n1, "'],
    ['another scheme', 'URI:URN:ringstore:node:n1'],
  ])('is undefined with %s', (_why, san) => {
    expect(nodeIdOf(peer(san, 'n1'))).toBeUndefined();
  });

  it('is undefined without a certificate (getPeerCertificate() gives {})', () => {
    expect(nodeIdOf({} as PeerCertificate)).toBeUndefined();
    expect(nodeIdOf(undefined)).toBeUndefined();
    expect(clientNameOf({} as PeerCertificate)).toBeUndefined();
  });
});

describe('clientNameOf', () => {
  it('reads the client URI before the CN', () => {
    expect(clientNameOf(peer('URI:urn:ringstore:client:alice', 'bob'))).toBe('alice');
  });

  it('falls back to the CN without a client URI', () => {
    expect(clientNameOf(peer(undefined, 'bob'))).toBe('bob');
    expect(clientNameOf(peer('DNS:x, URI:urn:ringstore:node:n1', 'n1'))).toBe('n1');
  });

  it.each([
    ['two client URIs', 'URI:urn:ringstore:client:a, URI:urn:ringstore:client:b', 'a'],
    ['a client URI that is no valid name', 'URI:urn:ringstore:client:a b', 'a'],
    ['no URI and several CNs', undefined, ['a', 'b']],
    ['no URI and a CN that is no valid name', undefined, 'Alice Smith'],
    ['no URI and no CN', undefined, undefined],
    ['a malformed list', 'URI:"x', 'a'],
  ])('is undefined with %s', (_why, san, cn) => {
    expect(clientNameOf(peer(san, cn))).toBeUndefined();
  });
});
