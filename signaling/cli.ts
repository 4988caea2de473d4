/**
 * Command-line options, parsed once into a typed config and validated up front: a bad option
 * stops the server with a message that says how to fix it.
 */
import { parseArgs } from 'node:util';
import type { IceServer } from './protocol.ts';

export interface CliConfig {
  port: number;
  host: string;
  certPath: string | null;
  keyPath: string | null;
  iceServers: IceServer[];
  maxPeersPerRoom: number;
  help: boolean;
}

export const HELP = `modnn-web server: serves the app and pairs the devices of a room.

Usage: npm start -- [options]

Options:
  --port N          Port for both HTTPS (LAN) and HTTP (localhost only). Default 8443.
  --host ADDR       Address to listen on. Default 0.0.0.0 (every IPv4 interface);
                    127.0.0.1 keeps the server private to this machine.
  --cert FILE       Your own TLS certificate (PEM). Use together with --key.
  --key FILE        Its private key (PEM). Without --cert/--key a self-signed certificate is
                    made on first start and kept in your config directory.
  --ice URL         A STUN or TURN server handed to every page; repeat for several.
                    None by default: devices on one LAN connect directly.
                    TURN credentials go in the URL: turn:USER:PASSWORD@HOST:PORT
  --max-peers N     Devices per room, owner included. Default 16.
  -h, --help        Show this help.
`;

export class CliError extends Error {
  override name = 'CliError';
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port must be an integer 0–65535, got "${text}".`);
  return port;
}

/** Parses one `--ice` URL; TURN credentials may ride in it as `turn:USER:PASSWORD@HOST:PORT`. */
export function parseIceUrl(text: string): IceServer {
  const match = /^(stuns?|turns?):(?:([^:@]+):([^@]+)@)?([^@\s]+)$/.exec(text);
  if (!match) {
    throw new CliError(`--ice "${text}" is not a STUN/TURN URL. Examples: stun:stun.example.org:3478, turn:user:secret@turn.example.org:3478`);
  }
  const [, scheme, username, credential, rest] = match as unknown as [string, string, string | undefined, string | undefined, string];
  const isTurn = scheme.startsWith('turn');
  if (isTurn && !username) throw new CliError(`--ice "${text}": a TURN server needs credentials: turn:USER:PASSWORD@HOST:PORT`);
  if (!isTurn && username) throw new CliError(`--ice "${text}": STUN servers take no credentials.`);
  return username ? { urls: `${scheme}:${rest}`, username, credential: credential ?? '' } : { urls: `${scheme}:${rest}` };
}

export function parseCli(argv: readonly string[]): CliConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', default: '8443' },
        host: { type: 'string', default: '0.0.0.0' },
        cert: { type: 'string' },
        key: { type: 'string' },
        ice: { type: 'string', multiple: true, default: [] },
        'max-peers': { type: 'string', default: '16' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}. See --help.`);
  }
  if (!!values.cert !== !!values.key) throw new CliError('--cert and --key go together: give both, or neither for a self-signed certificate.');
  const maxPeersPerRoom = Number(values['max-peers']);
  if (!Number.isInteger(maxPeersPerRoom) || maxPeersPerRoom < 2 || maxPeersPerRoom > 256) {
    throw new CliError(`--max-peers must be an integer 2–256, got "${values['max-peers']}".`);
  }
  return {
    port: parsePort(values.port),
    host: values.host,
    certPath: values.cert ?? null,
    keyPath: values.key ?? null,
    iceServers: values.ice.map(parseIceUrl),
    maxPeersPerRoom,
    help: values.help,
  };
}
