import { describe, expect, it } from 'vitest';
import { CertsError } from './errors.js';
import { hostsMax, parseDays, parseHost, parseHosts, parseName } from './names.js';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return error instanceof CertsError ? error.code : `not a CertsError: ${String(error)}`;
  }
}

describe('parseName', () => {
  it.each(['n1', 'N', 'node-1.eu_west', 'a'.repeat(64)])('accepts %j', (name) => {
    expect(parseName('the node id', name)).toBe(name);
  });

  it.each([
    '',
    '-n1',
    '.n1',
    'n 1',
    'n1/x',
    '../n1',
    'a'.repeat(65),
    'ca',
    'CA',
    'n1-key',
    'X-KEY',
  ])('refuses %j', (name) => {
    expect(codeOf(() => parseName('the node id', name))).toBe('bad-name');
  });

  it('names what is wrong, quoting the input', () => {
    expect(() => parseName('the client name', 'a b')).toThrow(
      "the client name must be 1-64 letters, digits, _ . - (starting with a letter or digit), got 'a b'",
    );
    expect(() => parseName('the node id', 'ca')).toThrow(/reserved/);
  });
});

describe('parseHost', () => {
  it.each([
    ['127.0.0.1', { type: 'ip', value: '127.0.0.1' }],
    ['::1', { type: 'ip', value: '::1' }],
    ['[::1]', { type: 'ip', value: '::1' }],
    ['FE80::1', { type: 'ip', value: 'fe80::1' }],
    ['::ffff:10.0.0.1', { type: 'ip', value: '::ffff:a00:1' }],
    ['localhost', { type: 'dns', value: 'localhost' }],
    ['Node-1.Example.COM', { type: 'dns', value: 'node-1.example.com' }],
    ['n1.ringstore.svc.cluster.local', { type: 'dns', value: 'n1.ringstore.svc.cluster.local' }],
  ])('reads %j', (text, expected) => {
    expect(parseHost(text)).toEqual(expected);
  });

  it.each([
    '',
    'fe80::1%eth0',
    '-a.example',
    'a-.example',
    'a..b',
    'a.b.',
    '*.example.com',
    'host:7001',
    '256.1.1.1',
    '10.0.0',
    'a_b.example',
    `${'a'.repeat(64)}.example`,
  ])('refuses %j', (text) => {
    expect(codeOf(() => parseHost(text))).toBe('bad-host');
  });
});

describe('parseHosts', () => {
  it('keeps each host once, in order', () => {
    expect(parseHosts(['localhost', '127.0.0.1', 'LOCALHOST', '[::1]', '::1'])).toEqual([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
    ]);
  });

  it('wants one host at least and hostsMax at most', () => {
    expect(codeOf(() => parseHosts([]))).toBe('bad-host');
    const many = Array.from({ length: hostsMax + 1 }, (_, i) => `n${i}.example`);
    expect(codeOf(() => parseHosts(many))).toBe('bad-host');
    expect(parseHosts(many.slice(0, hostsMax))).toHaveLength(hostsMax);
  });
});

describe('parseDays', () => {
  it.each([0, -1, 1.5, Number.NaN, 36_501])('refuses %j', (days) => {
    expect(codeOf(() => parseDays(days))).toBe('bad-days');
  });
  it('accepts 1 to daysMax', () => {
    expect(parseDays(1)).toBe(1);
    expect(parseDays(36_500)).toBe(36_500);
  });
});
