import { describe, expect, it } from 'vitest';
import { describeStartFailure, type Listeners } from './logger.js';

const listeners: Listeners = {
  client: '127.0.0.1:7001',
  peer: '127.0.0.1:7002',
  admin: '127.0.0.1:7007',
};

function systemError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe('describeStartFailure', () => {
  it('reads the listener out of grpc-js bind errors, which carry text only', () => {
    const error = new Error(
      'No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:7002]',
    );
    expect(describeStartFailure(error, listeners)).toEqual({
      code: 'EADDRINUSE',
      message: 'cannot listen on 127.0.0.1:7002 (peer): address in use (EADDRINUSE)',
    });
  });

  it('names the admin listener from a Node system error', () => {
    const error = systemError('listen EADDRNOTAVAIL', {
      code: 'EADDRNOTAVAIL',
      syscall: 'listen',
      address: '127.0.0.1',
      port: 7007,
    });
    expect(describeStartFailure(error, listeners)?.message).toBe(
      'cannot listen on 127.0.0.1:7007 (admin): address not available on this machine (EADDRNOTAVAIL)',
    );
  });

  it('names the path of a file system error', () => {
    const error = systemError("EACCES: permission denied, mkdir '/srv/rs'", {
      code: 'EACCES',
      syscall: 'mkdir',
      path: '/srv/rs',
    });
    expect(describeStartFailure(error, listeners)).toEqual({
      code: 'EACCES',
      message: 'cannot mkdir /srv/rs: permission denied (EACCES)',
    });
  });

  it("keeps a storage error's code and message", () => {
    const error = Object.assign(new Error('opening /d/ringstore.db: file is not a database'), {
      name: 'StorageError',
      code: 'schema',
    });
    expect(describeStartFailure(error, listeners)?.message).toBe(
      'cannot open storage: opening /d/ringstore.db: file is not a database (schema)',
    );
  });

  it('leaves anything else to be logged with its stack (a bug)', () => {
    expect(describeStartFailure(new Error('assertion failed: x'), listeners)).toBeUndefined();
    expect(describeStartFailure(systemError('odd', { code: 'ERR_X' }), listeners)).toBeUndefined();
    expect(describeStartFailure('a string', listeners)).toBeUndefined();
  });
});
