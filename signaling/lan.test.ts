import type os from 'node:os';
import { describe, expect, it } from 'vitest';
import { lanAddresses, reachableAddresses } from './lan.ts';

const entry = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
  ({ address, family, internal, netmask: '', mac: '', cidr: null }) as os.NetworkInterfaceInfo;

const interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = {
  lo: [entry('127.0.0.1', 'IPv4', true), entry('::1', 'IPv6', true)],
  docker0: [entry('172.17.0.1', 'IPv4')],
  wlan0: [entry('192.168.1.23', 'IPv4'), entry('fe80::1', 'IPv6')],
};

describe('lanAddresses', () => {
  it('lists IPv4 LAN addresses, physical interfaces before container bridges, no loopback', () => {
    expect(lanAddresses(interfaces)).toEqual(['192.168.1.23', '172.17.0.1']);
  });
});

describe('reachableAddresses', () => {
  it.each([
    ['0.0.0.0', ['192.168.1.23', '172.17.0.1']],
    ['127.0.0.1', []],
    ['localhost', []],
    ['192.168.1.23', ['192.168.1.23']],
  ])('host %s', (host, expected) => {
    expect(reachableAddresses(host, interfaces)).toEqual(expected);
  });
});
