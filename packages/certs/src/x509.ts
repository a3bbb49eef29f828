// The certificate library, loaded on first use. @peculiar/x509 1.x imports the reflect-metadata
// polyfill, which adds functions to the global Reflect object; loading it lazily keeps that out
// of every process that only reads certificates (a storage node calling nodeIdOf).
import { randomBytes, webcrypto } from 'node:crypto';
import type * as x509 from '@peculiar/x509';

export type X509Library = typeof x509;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type CryptoKey = webcrypto.CryptoKey;

let loading: Promise<X509Library> | undefined;

export function x509Library(): Promise<X509Library> {
  return (loading ??= import('@peculiar/x509'));
}

/** Every key: ECDSA on P-256 (prime256v1), which every TLS stack in use accepts. */
export const keyAlgorithm: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
/** Every signature: ECDSA with SHA-256, the hash that matches a P-256 key. */
export const signingAlgorithm: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
/** The WebCrypto the library signs with, named rather than found on globalThis. */
export const crypto = webcrypto;

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']);
}

/** A private key as PKCS#8 PEM ("BEGIN PRIVATE KEY"), the form grpc-js and node:tls read. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/**
 * A serial number: 16 random bytes, positive and without a leading zero byte (RFC 5280 allows
 * 20 octets; CA/Browser Forum rules ask for 64 random bits at least).
 */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}
