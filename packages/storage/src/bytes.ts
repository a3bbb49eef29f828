/** Views a Uint8Array as a Buffer without copying (better-sqlite3 binds only Buffers as BLOBs). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && toBuffer(a).equals(b);
}

/** Lower-case hex: comparing two such strings orders the bytes as memcmp does, shorter prefix first. */
export function toHex(bytes: Uint8Array): string {
  return toBuffer(bytes).toString('hex');
}

export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
