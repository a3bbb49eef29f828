/** A key, value or merge result: a string (encoded as UTF-8) or bytes. */
export type Bytes = string | Uint8Array;

/** `bytes` as a Buffer; a Buffer is returned as is, other bytes are wrapped without copying. */
export function toBuffer(bytes: Bytes): Buffer {
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8');
  if (Buffer.isBuffer(bytes)) return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
