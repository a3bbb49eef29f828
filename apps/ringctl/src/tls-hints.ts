// What to do about a connection that failed for TLS reasons. grpc-js reports them all as
// UNAVAILABLE with OpenSSL's words ("self-signed certificate in certificate chain", "tlsv13 alert
// certificate required", "wrong version number"); this adds one line saying which flag or which
// certificate to look at. Decided from grpc-js's text because that is all it gives.
import * as grpc from '@grpc/grpc-js';
import type { Connection } from './connection-options.js';
import { RpcError } from './errors.js';

/** An RpcError whose message ends with a hint line. */
export class HintedRpcError extends RpcError {
  constructor(
    base: RpcError,
    /** One sentence: what to check or change. */
    readonly hint: string,
  ) {
    super(base.code, base.statusName, base.details);
    this.message = `${base.message}\nhint: ${hint}`;
  }
}

/** The error with a hint line when it is a TLS failure ringctl recognizes; else unchanged. */
export function withTlsHint(error: unknown, connection: Connection): unknown {
  if (!(error instanceof RpcError) || error instanceof HintedRpcError) return error;
  if (error.code !== Number(grpc.status.UNAVAILABLE)) return error;
  const hint = tlsHint(error.details, connection);
  return hint === undefined ? error : new HintedRpcError(error, hint);
}

function tlsHint(details: string, connection: Connection): string | undefined {
  const { tls } = connection;
  if (tls === undefined) {
    return /Failed to connect|Connection dropped/i.test(details)
      ? 'if the node uses TLS, give --ca-file (and --cert-file, --key-file if it wants them)'
      : undefined;
  }
  if (
    /self[- ]signed certificate|unable to (verify|get (local )?issuer)|signature failure/i.test(
      details,
    )
  )
    return `the node's certificate is not signed by the CA in --ca-file ${tls.caFile}`;
  if (/altnames|Hostname\/IP does not match/i.test(details))
    return "the node's certificate does not name the host dialed: add it with ringctl certs node --host";
  if (/certificate has expired|not yet valid/i.test(details))
    return 'a certificate is outside its validity period: renew it with ringctl certs node or client';
  if (/alert certificate required/i.test(details))
    return 'the node requires a client certificate: give --cert-file and --key-file';
  if (
    /alert (unknown ca|bad certificate|certificate unknown|unsupported certificate)/i.test(details)
  )
    return `the node refused --cert-file ${tls.certFile ?? ''}: is it signed by the node's CA?`;
  if (tls.certFile !== undefined && /Failed to connect/i.test(details))
    return `the node closed the connection: is --cert-file ${tls.certFile} signed by the node's CA?`;
  if (/wrong version number|packet length too long/i.test(details))
    return 'the node does not speak TLS at that address: drop --ca-file, or enable TLS on the node';
  return undefined;
}
