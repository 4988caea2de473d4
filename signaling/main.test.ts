import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lanAddresses } from './lan.ts';

const configDir = await mkdtemp(path.join(os.tmpdir(), 'modnn-main-'));
afterAll(() => rm(configDir, { recursive: true, force: true }));

/** Runs the server CLI; resolves with everything printed once `until` matches (or it exits). */
function runCli(args: string[], until: RegExp) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'main.ts'), ...args], {
    env: { ...process.env, MODNN_CONFIG_DIR: configDir },
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const ready = new Promise<string>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until.test(output)) resolve(output);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => resolve(output));
  });
  return { child, ready, exited };
}

describe('npm start (signaling/main.ts)', () => {
  it('prints its LAN URLs with a QR code, serves HTTPS with a certificate kept in the config dir, and stops on SIGTERM', async () => {
    const { child, ready, exited } = runCli(['--port', '0'], /SHA-256/);
    const output = await ready;
    const port = Number(/localhost:(\d+)/.exec(output)?.[1]);
    expect(port).toBeGreaterThan(0);
    for (const address of lanAddresses()) expect(output).toContain(`https://${address}:${port}/`);
    // The QR code: rows of half-block characters (a version-2 code is 25 modules, 13+ terminal rows).
    const qrRows = output.split('\n').filter((line) => /[▀▄█]/.test(line)).length;
    if (lanAddresses().length > 0) expect(qrRows).toBeGreaterThanOrEqual(13);
    expect(await readdir(path.join(configDir, 'tls'))).toEqual(['cert.pem', 'key.pem']);

    const status = await new Promise<number | undefined>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect([200, 503]).toContain(status); // 503 when the app is not built yet
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('documents its options with --help', async () => {
    const { ready, exited } = runCli(['--help'], /--max-peers/);
    expect(await ready).toMatch(/--port N[\s\S]*--host ADDR[\s\S]*--cert FILE[\s\S]*--ice URL/);
    expect(await exited).toBe(0);
  });

  it('refuses a bad option with a message and exit code 2', async () => {
    const { ready, exited } = runCli(['--port', 'x'], /must be/);
    expect(await ready).toMatch(/modnn-web: --port must be an integer/);
    expect(await exited).toBe(2);
  });
});
