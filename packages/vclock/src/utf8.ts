import { DecodeError } from './decode-error.js';

/**
 * UTF-8 for actor names. Encoding is done here (no allocation: the encoders size their output
 * first); decoding takes an ASCII fast path and otherwise a fatal TextDecoder, so invalid or
 * non-shortest UTF-8 is refused and a leading U+FEFF is kept as part of the name.
 */

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const asciiMax = 0x7f;
/** Longest input for the ASCII fast path: actor names are short ids; longer ones go to TextDecoder. */
const asciiFastBytesMax = 64;

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;

/** Bytes `text` takes in UTF-8; `text` must be well formed (no lone surrogates). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (isHighSurrogate(unit)) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Writes `text` (well formed) at `offset`; returns the offset after it. */
export function writeUtf8(out: Uint8Array, offset: number, text: string): number {
  let at = offset;
  for (let i = 0; i < text.length; i++) {
    let point = text.charCodeAt(i);
    if (point < 0x80) {
      out[at++] = point;
      continue;
    }
    if (isHighSurrogate(point))
      point = 0x10000 + ((point - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
    if (point < 0x800) {
      out[at++] = 0xc0 | (point >> 6);
    } else if (point < 0x10000) {
      out[at++] = 0xe0 | (point >> 12);
      out[at++] = 0x80 | ((point >> 6) & 0x3f);
    } else {
      out[at++] = 0xf0 | (point >> 18);
      out[at++] = 0x80 | ((point >> 12) & 0x3f);
      out[at++] = 0x80 | ((point >> 6) & 0x3f);
    }
    out[at++] = 0x80 | (point & 0x3f);
  }
  return at;
}

/** The string of `bytes` if they are few and all ASCII, else undefined. */
function shortAscii(bytes: Uint8Array): string | undefined {
  if (bytes.length > asciiFastBytesMax) return undefined;
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte > asciiMax) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}

/** Decodes `bytes` as UTF-8, refusing anything that is not valid UTF-8 with a DecodeError. */
export function readUtf8(bytes: Uint8Array, what: string): string {
  const ascii = shortAscii(bytes);
  if (ascii !== undefined) return ascii;
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new DecodeError('malformed', `${what} is not valid UTF-8`);
  }
}
