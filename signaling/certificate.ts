/**
 * The self-signed certificate that gives LAN devices a secure context. Made on first start,
 * kept in the user's config directory (never in the repository), and made again only when it
 * has expired or no longer names one of this machine's LAN addresses.
 */
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface PemPair {
  cert: string;
  key: string;
}

export interface LoadedCertificate extends PemPair {
  /** True when this start created it (phones must accept the warning again). */
  created: boolean;
  certPath: string;
  /** SHA-256 fingerprint, shown so a user can check it on the phone's warning page. */
  fingerprint256: string;
}

const VALIDITY_DAYS = 825; // the longest that Apple platforms accept for a TLS server certificate
const RENEW_BEFORE_MS = 7 * 24 * 3600_000;

/** Whether the certificate is still valid for a week and names every one of `addresses`. */
export function certificateCovers(certPem: string, addresses: readonly string[], nowMs = Date.now()): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return false;
  }
  if (Date.parse(cert.validTo) - nowMs < RENEW_BEFORE_MS) return false;
  const names = (cert.subjectAltName ?? '').split(',').map((s) => s.trim());
  return addresses.every((address) => names.includes(`IP Address:${address}`));
}

export async function generateCertificate(addresses: readonly string[], hostname = os.hostname()): Promise<PemPair> {
  const dnsNames = [...new Set(['localhost', hostname, `${hostname}.local`])];
  const ips = [...new Set(['127.0.0.1', '::1', ...addresses])];
  const notBeforeDate = new Date(Date.now() - 3600_000); // tolerate a phone whose clock runs behind
  const pems = await generate([{ name: 'commonName', value: `modnn-web on ${hostname}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALIDITY_DAYS * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...dnsNames.map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Loads the kept certificate from `dir`, making a new one when it is missing, stale or misses an address. */
export async function loadOrCreateCertificate(dir: string, addresses: readonly string[]): Promise<LoadedCertificate> {
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  let pair: PemPair | null;
  try {
    pair = { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } catch {
    pair = null;
  }
  const created = !pair || !certificateCovers(pair.cert, addresses);
  if (created) {
    pair = await generateCertificate(addresses);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(keyPath, pair.key, { mode: 0o600 });
    await chmod(keyPath, 0o600);
    await writeFile(certPath, pair.cert);
  }
  const { cert, key } = pair as PemPair;
  return { cert, key, created, certPath, fingerprint256: new X509Certificate(cert).fingerprint256 };
}
