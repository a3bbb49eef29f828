// The cluster CA: creating it, and loading it to sign with. A CA here is a self-signed P-256
// certificate with basicConstraints CA:TRUE (critical, path length 0: it signs leaves only) and
// keyUsage keyCertSign + cRLSign, its key beside it in ca-key.pem.
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { X509Certificate as LibraryCertificate } from '@peculiar/x509';
import { CertsError, messageOf } from './errors.js';
import {
  certFileMode,
  ensureDirectory,
  exists,
  keyFileMode,
  readPemIfExists,
  writeFiles,
} from './files.js';
import { parseCaName, parseDays } from './names.js';
import { describeIssued, lifetime, type IssuedCert } from './issued.js';
import {
  crypto,
  generateKeyPair,
  keyAlgorithm,
  privateKeyPem,
  randomSerialNumber,
  signingAlgorithm,
  x509Library,
  type CryptoKey,
} from './x509.js';

/** Default CA lifetime: ten years, since replacing a CA means reissuing every certificate. */
export const caDaysDefault = 3650;
/** The CA's CN before its random suffix, unless `name` says otherwise. */
export const caNameDefault = 'Ringstore cluster CA';
export const caCertFileName = 'ca.pem';
export const caKeyFileName = 'ca-key.pem';

export interface CreateCaOptions {
  /** Where ca.pem and ca-key.pem go; created (0700) when missing. */
  readonly dir: string;
  /** Default caDaysDefault. */
  readonly days?: number | undefined;
  /** Replaces "Ringstore cluster CA" in the CN; the random suffix is always added. */
  readonly name?: string | undefined;
  /** Overwrite an existing CA (every certificate it signed stops being trusted). */
  readonly force?: boolean | undefined;
}

/** A CA loaded to sign with. */
export interface Authority {
  /** The CA certificate, as the library reads it (its subject becomes the issuer). */
  readonly certificate: LibraryCertificate;
  readonly signingKey: CryptoKey;
  /** The CA's subject key identifier, hex: every leaf names it as its authority key id. */
  readonly keyId: string | undefined;
  readonly notAfter: Date;
}

/** Creates DIR/ca.pem and DIR/ca-key.pem; refuses to replace an existing CA unless `force`. */
export async function createCa(options: CreateCaOptions): Promise<IssuedCert> {
  const dir = resolve(options.dir);
  const days = parseDays(options.days ?? caDaysDefault);
  const prefix = parseCaName(options.name ?? caNameDefault);
  const certFile = join(dir, caCertFileName);
  const keyFile = join(dir, caKeyFileName);
  if (options.force !== true) {
    for (const file of [keyFile, certFile]) {
      if (await exists(file)) {
        throw new CertsError(
          'ca-exists',
          `${file} exists: replacing the CA untrusts every certificate it signed ` +
            '(force: true, or ringctl certs init --force, replaces it)',
        );
      }
    }
  }
  await ensureDirectory(dir);
  const x509 = await x509Library();
  const keys = await generateKeyPair();
  const { notBefore, notAfter } = lifetime(days, undefined);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: [{ CN: [`${prefix} ${randomBytes(4).toString('hex')}`] }],
      notBefore,
      notAfter,
      keys,
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const certPem = certificate.toString('pem') + '\n';
  await writeFiles([
    { path: keyFile, contents: await privateKeyPem(keys.privateKey), mode: keyFileMode },
    { path: certFile, contents: certPem, mode: certFileMode },
  ]);
  return describeIssued('ca', certFile, keyFile, certPem);
}

/** Loads DIR/ca.pem and DIR/ca-key.pem, checking that they are a usable pair. */
export async function loadAuthority(dir: string, now: Date): Promise<Authority> {
  const certFile = join(dir, caCertFileName);
  const keyFile = join(dir, caKeyFileName);
  const certPem = await readPemIfExists(certFile);
  const keyPem = await readPemIfExists(keyFile);
  for (const [file, pem] of [
    [certFile, certPem],
    [keyFile, keyPem],
  ] as const) {
    if (pem === undefined) {
      throw new CertsError(
        'ca-missing',
        `${file} not found: create the CA first (ringctl certs init --dir ${dir})`,
      );
    }
  }
  const checked = checkAuthority(certFile, certPem ?? '', keyFile, keyPem ?? '', now);
  const x509 = await x509Library();
  const certificate = new x509.X509Certificate(certPem ?? '');
  const signingKey = await webcrypto.subtle.importKey('pkcs8', checked.pkcs8, keyAlgorithm, false, [
    'sign',
  ]);
  const keyId = certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  return { certificate, signingKey, keyId, notAfter: checked.notAfter };
}

/** The checks node:crypto can make: a CA certificate, in force, and a P-256 key that matches it. */
function checkAuthority(
  certFile: string,
  certPem: string,
  keyFile: string,
  keyPem: string,
  now: Date,
): { pkcs8: Buffer; notAfter: Date } {
  const invalid = (why: string): CertsError => new CertsError('ca-invalid', why);
  let certificate: X509Certificate;
  let key: ReturnType<typeof createPrivateKey>;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    throw invalid(`${certFile} is not a PEM certificate: ${messageOf(error)}`);
  }
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw invalid(`${keyFile} is not an unencrypted PEM private key: ${messageOf(error)}`);
  }
  if (!certificate.ca) throw invalid(`${certFile} is not a CA certificate (CA:FALSE)`);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw invalid(`${keyFile} is not an ECDSA P-256 key`);
  if (!certificate.checkPrivateKey(key)) throw invalid(`${keyFile} is not the key of ${certFile}`);
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now < notBefore || now >= notAfter) {
    throw invalid(
      `${certFile} is valid from ${notBefore.toISOString()} to ${notAfter.toISOString()}, ` +
        'not now: create a new CA',
    );
  }
  return { pkcs8: key.export({ format: 'der', type: 'pkcs8' }), notAfter };
}
