// Where put's value comes from: the argument, --file (a path, or - for stdin), or stdin, each
// bounded by valueBytesMax.
import { readFile, stat } from 'node:fs/promises';
import { InputError, UsageError } from './errors.js';
import type { RunIo } from './io.js';
import { parseHex, valueBytesMax } from './options.js';

export interface ValueSources {
  readonly argument: string | undefined;
  /** A path, or '-' for stdin. */
  readonly file: string | undefined;
  /** The value (from whichever source) is hex digits to decode, surrounding whitespace ignored. */
  readonly hex: boolean;
}

export async function readValue(sources: ValueSources, io: RunIo): Promise<Buffer> {
  if (sources.argument !== undefined && sources.file !== undefined) {
    throw new UsageError('give the value either as an argument or with --file, not both');
  }
  const raw =
    sources.argument !== undefined
      ? Buffer.from(sources.argument, 'utf8')
      : sources.file !== undefined && sources.file !== '-'
        ? await readValueFile(sources.file)
        : await readValueStdin(io);
  const value = sources.hex
    ? parseHex('the value (--value-hex)', raw.toString('latin1').trim())
    : raw;
  checkSize(value.length);
  return value;
}

function checkSize(valueBytes: number): void {
  if (valueBytes > valueBytesMax) {
    throw new UsageError(`the value is ${valueBytes} bytes; the limit is ${valueBytesMax}`);
  }
}

async function readValueFile(path: string): Promise<Buffer> {
  try {
    // Check the size first so a huge file is refused without reading it.
    checkSize((await stat(path)).size);
    return await readFile(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new InputError(`cannot read --file ${path}: ${(error as Error).message}`);
  }
}

async function readValueStdin(io: RunIo): Promise<Buffer> {
  const stdin = io.stdin;
  if (stdin === undefined) {
    throw new UsageError(
      'no value: give it as an argument or with --file (there is no stdin to read)',
    );
  }
  if (stdin.isTTY === true) {
    io.stderr.write('reading the value from stdin (end with Ctrl-D)\n');
  }
  const chunks: Buffer[] = [];
  let valueBytes = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    valueBytes += bytes.length;
    checkSize(valueBytes);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}
