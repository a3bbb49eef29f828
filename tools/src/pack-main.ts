// `npm run pack [-- --out DIR]`: the publishable npm packages as tarballs (tools/src/pack.ts).
import { resolve } from 'node:path';
import { Command } from 'commander';
import { packAll } from './pack.js';

const program = new Command('ringstore-pack')
  .description(
    'Stage and npm-pack @ringstore/client and @ringstore/server (ringstore-node, ringctl) from the built workspace; the tarballs install into any project with nothing else from this repository.',
  )
  .option('--out <dir>', 'where the tarballs go', 'dist-packages');
program.parse();
const { out } = program.opts<{ out: string }>();
try {
  for (const tarball of packAll(resolve(out))) process.stdout.write(`${tarball}\n`);
} catch (e) {
  process.stderr.write(`ringstore-pack: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
