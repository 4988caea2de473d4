import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { certificateCovers, loadOrCreateCertificate } from './certificate.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('self-signed certificate', () => {
  it('is made once, kept with a private key only the user can read, and reused', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'modnn-cert-'));
    dirs.push(dir);
    const first = await loadOrCreateCertificate(dir, ['192.0.2.7']);
    expect(first.created).toBe(true);
    expect((await stat(path.join(dir, 'key.pem'))).mode & 0o777).toBe(0o600);
    const san = new X509Certificate(first.cert).subjectAltName ?? '';
    expect(san).toContain('IP Address:192.0.2.7');
    expect(san).toContain('DNS:localhost');

    const again = await loadOrCreateCertificate(dir, ['192.0.2.7']);
    expect(again.created).toBe(false);
    expect(again.fingerprint256).toBe(first.fingerprint256);
  });

  it('is made again when the machine got a LAN address the certificate does not name', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'modnn-cert-'));
    dirs.push(dir);
    const first = await loadOrCreateCertificate(dir, ['192.0.2.7']);
    const moved = await loadOrCreateCertificate(dir, ['192.0.2.99']);
    expect(moved.created).toBe(true);
    expect(moved.fingerprint256).not.toBe(first.fingerprint256);
    expect(await readFile(path.join(dir, 'cert.pem'), 'utf8')).toBe(moved.cert);
  });

  it('does not cover garbage or an expired window', async () => {
    expect(certificateCovers('not a certificate', [])).toBe(false);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'modnn-cert-'));
    dirs.push(dir);
    const { cert } = await loadOrCreateCertificate(dir, []);
    expect(certificateCovers(cert, [])).toBe(true);
    expect(certificateCovers(cert, [], Date.now() + 900 * 24 * 3600_000)).toBe(false);
  });
});
