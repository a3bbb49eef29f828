// `ringctl certs`: make the certificates of a secured cluster with @ringstore/certs. These
// commands talk to no node: they read and write files in --dir only.
import {
  CertsError,
  createCa,
  createClientCert,
  createNodeCert,
  daysMax,
  type IssuedCert,
} from '@ringstore/certs';
import type { Command } from 'commander';
import { InputError, UsageError } from './errors.js';
import type { RunIo } from './io.js';
import { parseIntegerInRange } from './options.js';

/** The certs flags as commander hands them over (with the global --json). */
interface CertsRawOptions {
  dir: string;
  days?: string;
  force?: boolean;
  id?: string;
  host?: string[];
  name?: string;
  json?: boolean;
}

const certsHelp = `
Files: DIR/ca.pem and DIR/ca-key.pem (the CA), DIR/ID.pem and DIR/ID-key.pem (each node or client).
Keys are ECDSA P-256, written mode 0600; DIR is created mode 0700. Copy to each node its own
ID.pem and ID-key.pem and ca.pem; keep ca-key.pem off the nodes.`;

export function addCertsCommands(program: Command, io: RunIo): void {
  const certs = program
    .command('certs')
    .description('make the certificates of a secured cluster: its CA, node and client certificates')
    .addHelpText('after', certsHelp);
  certs
    .command('init')
    .description('create the cluster CA: DIR/ca.pem and DIR/ca-key.pem')
    .requiredOption('--dir <dir>', 'directory of the certificates (created 0700 if missing)')
    .option('--days <n>', 'days the CA is valid (default: 3650)')
    .option('--force', 'replace an existing CA (every certificate it signed stops being trusted)')
    .action(
      certsAction(io, (raw) =>
        createCa({ dir: raw.dir, days: daysOf(raw), force: raw.force === true }),
      ),
    );
  certs
    .command('node')
    .description('create a node certificate DIR/ID.pem and key DIR/ID-key.pem, signed by the CA')
    .requiredOption('--dir <dir>', 'directory of the CA, where the files are written')
    .requiredOption('--id <id>', "the node's id (its --id)")
    .requiredOption(
      '--host <host>',
      'DNS name or IP address the node is reached at, client and peer port alike; repeatable',
      collect,
    )
    .option('--days <n>', 'days the certificate is valid (default: 825, never past the CA)')
    .action(
      certsAction(io, (raw) =>
        createNodeCert({
          dir: raw.dir,
          id: raw.id ?? '',
          hosts: raw.host ?? [],
          days: daysOf(raw),
        }),
      ),
    );
  certs
    .command('client')
    .description('create a client certificate DIR/NAME.pem and key DIR/NAME-key.pem')
    .requiredOption('--dir <dir>', 'directory of the CA, where the files are written')
    .requiredOption('--name <name>', "the client's name (as a token file names it)")
    .option('--days <n>', 'days the certificate is valid (default: 825, never past the CA)')
    .action(
      certsAction(io, (raw) =>
        createClientCert({ dir: raw.dir, name: raw.name ?? '', days: daysOf(raw) }),
      ),
    );
}

/** A commander action that makes a certificate and prints what it wrote. */
function certsAction(
  io: RunIo,
  make: (raw: CertsRawOptions) => Promise<IssuedCert>,
): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const raw = (args.at(-1) as Command).optsWithGlobals<CertsRawOptions>();
    let issued: IssuedCert;
    try {
      issued = await make(raw);
    } catch (error) {
      throw error instanceof CertsError ? certsFailure(error) : error;
    }
    io.stdout.write(
      raw.json === true ? JSON.stringify(issuedJson(issued)) + '\n' : issuedHuman(issued),
    );
  };
}

function daysOf(raw: CertsRawOptions): number | undefined {
  return raw.days === undefined ? undefined : parseIntegerInRange('--days', raw.days, 1, daysMax);
}

/** Bad input is a usage error (exit 2); a CA or file that stands in the way, a failure (exit 1). */
function certsFailure(error: CertsError): Error {
  switch (error.code) {
    case 'bad-name':
    case 'bad-host':
    case 'bad-days':
      return new UsageError(error.message);
    case 'ca-missing':
    case 'ca-invalid':
    case 'ca-exists':
    case 'name-taken':
    case 'io':
      return new InputError(error.message);
  }
}

function issuedJson(issued: IssuedCert): Record<string, unknown> {
  return {
    kind: issued.kind,
    certFile: issued.certFile,
    keyFile: issued.keyFile,
    subject: issued.subject,
    altNames: issued.altNames,
    serialNumber: issued.serialNumber,
    notBefore: issued.notBefore.toISOString(),
    notAfter: issued.notAfter.toISOString(),
    fingerprint256: issued.fingerprint256,
  };
}

function issuedHuman(issued: IssuedCert): string {
  const keyNote =
    issued.kind === 'ca' ? 'mode 0600; keep it secret, and off the nodes' : 'mode 0600';
  const lines = [
    `wrote ${issued.certFile} (${issued.kind === 'ca' ? 'CA certificate' : 'certificate'})`,
    `wrote ${issued.keyFile} (private key, ${keyNote})`,
    `subject: ${issued.subject}`,
    ...(issued.altNames.length === 0 ? [] : [`names: ${issued.altNames.join(', ')}`]),
    `valid until: ${issued.notAfter.toISOString()}`,
    `sha256 fingerprint: ${issued.fingerprint256}`,
  ];
  return lines.map((line) => `${line}\n`).join('');
}

/** Commander argument parser of a repeatable flag: every value, in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
