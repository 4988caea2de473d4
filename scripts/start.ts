/**
 * `npm start`: build the app when the build is missing or older than its sources, then run the
 * server. Arguments after `--` go to the server (`npm start -- --help`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD_INPUTS = ['index.html', 'vite.config.ts', 'package.json', 'src', 'public', 'signaling/protocol.ts'];

function newestMtimeMs(target: string): number {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtimeMs(path.join(target, entry)));
  return newest;
}

function buildIsStale(): boolean {
  const builtAt = newestMtimeMs(path.join(root, 'dist', 'index.html'));
  return builtAt === 0 || BUILD_INPUTS.some((input) => newestMtimeMs(path.join(root, input)) > builtAt);
}

const args = process.argv.slice(2);
const wantsHelp = args.includes('--help') || args.includes('-h');
if (!wantsHelp && buildIsStale()) {
  console.log('Building the app (vite build)…');
  const { build } = await import('vite');
  await build({ root, logLevel: 'warn' });
}
const { main } = await import('../signaling/main.ts');
await main(args);
