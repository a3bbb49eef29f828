// The one Node warning ringctl silences. grpc-js sets the TLS server name to the node's address
// even when that is an IP address (grpc/grpc-node#1919), so every TLS command given
// --node 127.0.0.1:7001 would print DEP0123 ("Setting the TLS ServerName to an IP address is not
// permitted by RFC 6066"). The certificate is still checked against the IP address; the warning
// is about grpc-js, and tells a ringctl user nothing they can act on. Every other warning stays.

/** The deprecation code of the IP-address server name warning. */
export const ipServerNameWarningCode = 'DEP0123';

/** Wraps `target.emitWarning` to drop DEP0123 and pass every other warning on unchanged. */
export function dropIpServerNameWarning(target: Pick<NodeJS.Process, 'emitWarning'>): void {
  const emitWarning = target.emitWarning.bind(target) as (...args: unknown[]) => void;
  const filtered = (...args: unknown[]): void => {
    if (warningCode(args) === ipServerNameWarningCode) return;
    emitWarning(...args);
  };
  target.emitWarning = filtered;
}

/** The code of emitWarning(warning, type, code) or emitWarning(warning, { code }). */
function warningCode(args: readonly unknown[]): unknown {
  const [, second, third] = args;
  if (typeof second === 'object' && second !== null) return (second as { code?: unknown }).code;
  return third;
}
