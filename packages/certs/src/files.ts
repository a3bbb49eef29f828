// The certificate directory on disk: created 0700, keys written 0600, every file put in place by
// rename so a reader never sees half a PEM. Every failure is a CertsError naming the path.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { CertsError, messageOf } from './errors.js';

/** Mode of private key files: the owner alone may read them. */
export const keyFileMode = 0o600;
/** Mode of certificate files: public by nature. */
export const certFileMode = 0o644;
/** Mode of a directory this package creates: it holds private keys. */
export const directoryMode = 0o700;
/** Largest file read as a PEM: a certificate or key is 1-2 KiB; a dozen chained, well under this. */
export const pemBytesMax = 64 * 1024;

/** A file to write: its final path, contents and mode. */
export interface FileToWrite {
  readonly path: string;
  readonly contents: string;
  readonly mode: number;
}

export async function ensureDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: directoryMode });
  } catch (error) {
    throw new CertsError('io', `cannot create directory ${dir}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const info = await stat(dir);
  if (!info.isDirectory()) throw new CertsError('io', `${dir} is not a directory`);
}

/**
 * Writes every file to a temporary name beside it first, then renames them all into place: a
 * failure while writing leaves the old files untouched. Modes are set explicitly, whatever the
 * umask.
 */
export async function writeFiles(files: readonly FileToWrite[]): Promise<void> {
  const written: string[] = [];
  try {
    for (const file of files) {
      const temporary = `${file.path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temporary, file.contents, { mode: file.mode, flag: 'wx' });
      written.push(temporary);
      await chmod(temporary, file.mode);
    }
    for (const [index, file] of files.entries()) await rename(written[index] ?? '', file.path);
  } catch (error) {
    await Promise.all(written.map((path) => unlink(path).catch(() => undefined)));
    const paths = files.map((file) => file.path).join(', ');
    throw new CertsError('io', `cannot write ${paths}: ${messageOf(error)}`, { cause: error });
  }
}

/** The file's text, or undefined when there is no such file. */
export async function readPemIfExists(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.size > pemBytesMax) {
      throw new CertsError('io', `${path} is ${info.size} bytes, larger than any PEM file here`);
    }
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof CertsError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CertsError('io', `cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CertsError('io', `cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
}
