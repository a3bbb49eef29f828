#!/usr/bin/env node
// ringctl: the Ringstore command-line tool. The code lives in dist/, built by `npm install` (the
// root prepare script) or `npm run build`.
const entry = new URL('../dist/main.js', import.meta.url);
try {
  await import(entry.href);
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(entry.pathname)) {
    process.stderr.write(
      `ringctl is not built (${entry.pathname} is missing): run npm run build at the repository root\n`,
    );
    process.exitCode = 2;
  } else {
    throw error;
  }
}
