import { describe, expect, it } from 'vitest';
import { CliError, parseCli, parseIceUrl } from './cli.ts';

describe('parseCli', () => {
  it('defaults: port 8443 on every IPv4 interface, no ICE servers, 16 peers', () => {
    expect(parseCli([])).toEqual({ port: 8443, host: '0.0.0.0', certPath: null, keyPath: null, iceServers: [], maxPeersPerRoom: 16, help: false });
  });

  it.each([
    [['--port', '70000'], /--port must be/],
    [['--port', 'abc'], /--port must be/],
    [['--cert', 'a.pem'], /--cert and --key go together/],
    [['--bogus'], /Unknown option.*--help/],
    [['--max-peers', '1'], /--max-peers/],
    [['--ice', 'http://example.org'], /not a STUN\/TURN URL/],
  ])('refuses %j with a message that says how to fix it', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(CliError);
    expect(() => parseCli(argv)).toThrow(message);
  });

  it('takes several --ice servers', () => {
    expect(parseCli(['--ice', 'stun:a.lan:3478', '--ice', 'turn:me:s3cret@b.lan:3478?transport=tcp']).iceServers).toEqual([
      { urls: 'stun:a.lan:3478' },
      { urls: 'turn:b.lan:3478?transport=tcp', username: 'me', credential: 's3cret' },
    ]);
  });
});

describe('parseIceUrl', () => {
  it.each([
    ['turn:turn.lan:3478', /needs credentials/],
    ['stun:me:pw@stun.lan', /no credentials/],
    ['stun:', /not a STUN/],
  ])('refuses %s', (url, message) => {
    expect(() => parseIceUrl(url)).toThrow(message);
  });
});
