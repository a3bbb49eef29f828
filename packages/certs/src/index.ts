// @ringstore/certs: the certificates of a secured Ringstore cluster. Making them (a CA, node and
// client certificates, ECDSA P-256) and reading the identity a peer's certificate carries.
export { CertsError, type CertsErrorCode } from './errors.js';
export {
  caCertFileName,
  caDaysDefault,
  caKeyFileName,
  caNameDefault,
  createCa,
  type CreateCaOptions,
} from './authority.js';
export {
  createClientCert,
  createNodeCert,
  leafDaysDefault,
  type CreateClientCertOptions,
  type CreateNodeCertOptions,
} from './leaf.js';
export type { CertKind, IssuedCert } from './issued.js';
export {
  clientNameOf,
  clientUri,
  clientUriPrefix,
  nodeIdOf,
  nodeUri,
  nodeUriPrefix,
  parseAltNames,
  type AltName,
  type CertificateLike,
} from './identity.js';
export { daysMax, hostsMax, namePattern } from './names.js';
export { certFileMode, directoryMode, keyFileMode } from './files.js';
