import { describe, expect, it } from 'vitest';
import { dropIpServerNameWarning } from './process-warnings.js';

describe('dropIpServerNameWarning', () => {
  it('drops DEP0123 and passes every other warning on', () => {
    const seen: unknown[][] = [];
    const target = {
      emitWarning: (...args: unknown[]) => {
        seen.push(args);
      },
    } as Pick<NodeJS.Process, 'emitWarning'>;
    dropIpServerNameWarning(target);
    target.emitWarning(
      'Setting the TLS ServerName to an IP address',
      'DeprecationWarning',
      'DEP0123',
    );
    target.emitWarning('the same, as options', { type: 'DeprecationWarning', code: 'DEP0123' });
    target.emitWarning('another deprecation', 'DeprecationWarning', 'DEP0005');
    target.emitWarning('an experimental feature', { type: 'ExperimentalWarning' });
    target.emitWarning('plain');
    expect(seen).toEqual([
      ['another deprecation', 'DeprecationWarning', 'DEP0005'],
      ['an experimental feature', { type: 'ExperimentalWarning' }],
      ['plain'],
    ]);
  });
});
