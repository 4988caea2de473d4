import os from 'node:os';

/** Interfaces that are virtual bridges for containers and VMs: phones cannot reach them. */
const VIRTUAL_INTERFACE = /^(docker|br-|veth|virbr|vmnet|vboxnet|utun|tun|tap|zt|tailscale|wg)/;

/**
 * This machine's IPv4 addresses that phones on the same LAN can reach, best first
 * (physical interfaces before virtual bridges). Loopback excluded.
 */
export function lanAddresses(interfaces = os.networkInterfaces()): string[] {
  const found: { address: string; virtual: boolean }[] = [];
  for (const [name, entries] of Object.entries(interfaces)) {
    for (const entry of entries ?? []) {
      if (entry.family !== 'IPv4' || entry.internal) continue;
      found.push({ address: entry.address, virtual: VIRTUAL_INTERFACE.test(name) });
    }
  }
  return found.sort((a, b) => Number(a.virtual) - Number(b.virtual)).map((f) => f.address);
}

/** The addresses a server bound to `host` is reachable on from other devices. */
export function reachableAddresses(host: string, interfaces = os.networkInterfaces()): string[] {
  if (host === '0.0.0.0' || host === '::') return lanAddresses(interfaces);
  if (host === 'localhost' || host.startsWith('127.') || host === '::1') return [];
  return [host];
}
