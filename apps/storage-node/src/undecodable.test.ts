import { KVService, PeerService } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { isUndecodable, tolerant, undecodableReason } from './undecodable.js';

describe('tolerant services', () => {
  it('hand the handler a marked value when a request does not decode', () => {
    const get = tolerant(KVService).get;
    // Field 1 (key) as a length-delimited value claiming 100 bytes, with 1 byte present.
    const decoded = get.requestDeserialize(Buffer.from([0x0a, 100, 1]));
    expect(isUndecodable(decoded)).toBe(true);
    if (isUndecodable(decoded)) expect(undecodableReason(decoded)).not.toBe('');
    expect(() => KVService.get.requestDeserialize(Buffer.from([0x0a, 100, 1]))).toThrow();
  });

  it('decode good requests as before, and keep paths and serializers', () => {
    const svc = tolerant(PeerService);
    const bytes = PeerService.gossip.requestSerialize({ from: 'n1', members: [], ring: undefined });
    const decoded = svc.gossip.requestDeserialize(bytes);
    expect(isUndecodable(decoded)).toBe(false);
    expect(decoded.from).toBe('n1');
    expect(svc.gossip.path).toBe(PeerService.gossip.path);
    expect(svc.gossip.responseSerialize).toBe(PeerService.gossip.responseSerialize);
  });
});
