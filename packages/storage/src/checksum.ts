import zlib from 'node:zlib';

/**
 * CRC-32 (ISO-HDLC, the zlib polynomial) over (partition, key length, key, object). It detects
 * every burst error up to 32 bits and torn or misplaced rows; it is not meant to resist an
 * attacker. zlib.crc32 (Node >= 20.15) is used when present; the table version gives the same
 * values on older runtimes.
 */
const crcTable = buildCrcTable();

function buildCrcTable(): Int32Array {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

/** Continues a CRC-32 from `previous` (0 to start), as zlib.crc32 does. */
export function crc32Portable(data: Uint8Array, previous: number): number {
  let c = ~previous;
  for (const byte of data) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * zlib.crc32 over a zero-length view of a zero-length ArrayBuffer passes zlib a NULL pointer, and
 * zlib then returns the initial value 0 instead of `previous`: empty input is skipped here.
 */
const crc32: (data: Uint8Array, previous: number) => number =
  typeof zlib.crc32 === 'function'
    ? (data, previous) => (data.byteLength === 0 ? previous : zlib.crc32(data, previous))
    : crc32Portable;

/** Reused header buffers: the engines are single-threaded and checksums are computed synchronously. */
const header = Buffer.alloc(8);
const hintHeader = Buffer.alloc(12);

export function objectChecksum(partition: number, key: Uint8Array, object: Uint8Array): number {
  header.writeUInt32BE(partition, 0);
  header.writeUInt32BE(key.byteLength, 4);
  return crc32(object, crc32(key, crc32(header, 0)));
}

/** Covers a hint's target and creation time too, so a damaged target or age is caught as well. */
export function hintChecksum(
  target: string,
  createdAtMs: number,
  partition: number,
  key: Uint8Array,
  object: Uint8Array,
): number {
  const targetBytes = Buffer.from(target, 'utf8');
  hintHeader.writeUInt32BE(targetBytes.byteLength, 0);
  hintHeader.writeDoubleBE(createdAtMs, 4);
  const prefix = crc32(targetBytes, crc32(hintHeader, 0));
  header.writeUInt32BE(partition, 0);
  header.writeUInt32BE(key.byteLength, 4);
  return crc32(object, crc32(key, crc32(header, prefix)));
}
