/**
 * `npm start`: parse options, load or make the certificate, start the server, and print every
 * LAN URL with a QR code of the first, so a phone can join by scanning the terminal.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import envPaths from 'env-paths';
import QRCode from 'qrcode';
import { loadOrCreateCertificate } from './certificate.ts';
import { CliError, HELP, parseCli, type CliConfig } from './cli.ts';
import { reachableAddresses } from './lan.ts';
import { createSignalingServer } from './server.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the self-signed certificate lives: $MODNN_CONFIG_DIR, else the OS config dir. */
function configDir(): string {
  return process.env['MODNN_CONFIG_DIR'] ?? envPaths('modnn-web', { suffix: '' }).config;
}

async function loadTls(config: CliConfig, addresses: string[]) {
  if (config.certPath && config.keyPath) {
    return { cert: await readFile(config.certPath, 'utf8'), key: await readFile(config.keyPath, 'utf8'), note: `certificate: ${config.certPath}` };
  }
  const dir = path.join(configDir(), 'tls');
  const loaded = await loadOrCreateCertificate(dir, addresses);
  const note = `${loaded.created ? 'created a new self-signed certificate' : 'self-signed certificate'}: ${loaded.certPath}\n  SHA-256 ${loaded.fingerprint256}`;
  return { cert: loaded.cert, key: loaded.key, note };
}

export async function main(argv: readonly string[]): Promise<void> {
  let config: CliConfig;
  try {
    config = parseCli(argv);
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`modnn-web: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  if (config.help) {
    process.stdout.write(HELP);
    return;
  }
  const addresses = reachableAddresses(config.host);
  const tls = await loadTls(config, addresses);
  const lanUrlFor = (address: string, port: number) => `https://${address.includes(':') ? `[${address}]` : address}:${port}/`;

  const server = await createSignalingServer({
    port: config.port,
    host: config.host,
    staticDir: path.join(repoRoot, 'dist'),
    tls,
    iceServers: config.iceServers,
    lanUrls: [], // filled in below once the port is known
    maxPeersPerRoom: config.maxPeersPerRoom,
    log: (line) => console.log(line),
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') console.error(`modnn-web: port ${config.port} is in use; choose another with --port.`);
    else if (err.code === 'EACCES') console.error(`modnn-web: not allowed to listen on port ${config.port}; choose one above 1023.`);
    else throw err;
    process.exit(1);
  });
  const lanUrls = addresses.map((a) => lanUrlFor(a, server.port));
  server.setLanUrls(lanUrls);

  const lines = ['', 'modnn-web is running.', ''];
  if (lanUrls.length > 0) {
    lines.push('Open on a phone or laptop on this network (accept the certificate warning once):');
    for (const url of lanUrls) lines.push(`  ${url}`);
    lines.push('', await QRCode.toString(lanUrls[0] as string, { type: 'terminal', small: true, errorCorrectionLevel: 'L' }));
  } else {
    lines.push('No LAN address: only this machine can connect.', '');
  }
  lines.push(`On this machine: http://localhost:${server.port}/`, `  ${tls.note}`, '');
  console.log(lines.join('\n'));

  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// Run directly (`tsx signaling/main.ts`) as well as through `npm start` (scripts/start.ts).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
