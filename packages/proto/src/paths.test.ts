import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KVService, protoRoot, publicProtoFiles } from './index.js';

describe('@ringstore/proto', () => {
  it('points at the .proto sources that generated it', () => {
    for (const file of publicProtoFiles) expect(existsSync(join(protoRoot, file)), file).toBe(true);
  });

  it('exposes the KV service with the contract paths', () => {
    expect(KVService.get.path).toBe('/ringstore.v1.KV/Get');
    expect(KVService.put.path).toBe('/ringstore.v1.KV/Put');
    expect(KVService.delete.path).toBe('/ringstore.v1.KV/Delete');
  });
});
