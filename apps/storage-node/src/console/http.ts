import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authorization } from '../security/roles.js';
import type { ConsoleApi } from './api.js';

/**
 * The web console on the admin HTTP port (--admin-listen): three static files (the page, its
 * script and its style, read once at start; no framework) and the JSON documents of api.ts under
 * /api/. The files carry no data and are open; /api/ needs the admin role when the node checks
 * tokens (`Authorization: Bearer TOKEN`, the same tokens as gRPC), so the page asks for a token
 * when the API answers 401.
 */
export interface ConsoleOptions {
  readonly api: ConsoleApi;
  /** The `authorization` header's verdict for the admin role (ClientGuard.authorizeAdmin). */
  readonly authorize: (authorization: string | undefined) => Authorization;
}

/** Where the static files are: apps/storage-node/console (src/console and dist/console sit two below). */
export const staticDir = new URL('../../console/', import.meta.url);

const files: readonly { path: string; file: string; type: string }[] = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/console.js', file: 'console.js', type: 'text/javascript; charset=utf-8' },
  { path: '/console.css', file: 'console.css', type: 'text/css; charset=utf-8' },
];

const commonHeaders = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** The console's own script and style only: no inline code, nothing from elsewhere. */
const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A handler that answers the console's paths (true) and leaves the others to the caller (false). */
export function consoleHandler(options: ConsoleOptions): ConsoleHandler {
  const loaded = new Map(
    files.map((f) => [f.path, { body: readFileSync(new URL(f.file, staticDir)), type: f.type }]),
  );
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://console');
    const file = loaded.get(url.pathname === '/index.html' ? '/' : url.pathname);
    const api = url.pathname.startsWith('/api/');
    if (file === undefined && !api) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...commonHeaders, allow: 'GET, HEAD' }).end();
      return true;
    }
    if (file !== undefined) {
      res
        .writeHead(200, {
          ...commonHeaders,
          'content-type': file.type,
          'content-security-policy': contentSecurityPolicy,
          'cache-control': 'no-cache',
        })
        .end(req.method === 'HEAD' ? undefined : file.body);
      return true;
    }
    const auth = options.authorize(req.headers.authorization);
    if (!auth.ok) {
      const status = auth.code === 'unauthenticated' ? 401 : 403;
      const code = auth.code === 'unauthenticated' ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED';
      json(res, status, { error: { code, message: auth.message } }, status === 401);
      return true;
    }
    const result = options.api.handle(url.pathname.slice('/api/'.length), url.searchParams);
    json(res, result.status, result.body, false);
    return true;
  };
}

function json(res: ServerResponse, status: number, body: unknown, challenge: boolean): void {
  res
    .writeHead(status, {
      ...commonHeaders,
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...(challenge ? { 'www-authenticate': 'Bearer realm="ringstore"' } : {}),
    })
    .end(`${JSON.stringify(body)}\n`);
}
