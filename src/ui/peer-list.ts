/** The owner's table of workers: name, state, RTT, throughput, backends offered. */
import type { PeerView } from '../mesh/index.ts';
import { formatBytesPerSec, formatMs, h, shortId } from './dom.ts';

const STATE_LABEL: Record<PeerView['state'], string> = {
  connecting: 'connecting…',
  handshake: 'saying hello…',
  probing: 'measuring link…',
  ready: 'ready',
  gone: 'gone',
};

/**
 * @param backendOf the TF.js backend a worker reported running (once it has), by peer id.
 */
export function renderPeerList(container: HTMLElement, peers: readonly PeerView[], onRemove: (peerId: string) => void, backendOf: (peerId: string) => string | undefined = () => undefined): void {
  if (peers.length === 0) {
    container.replaceChildren(h('p', { class: 'muted' }, 'No workers yet. Scan the QR code with another phone on this network.'));
    return;
  }
  const rows = peers.map((p) =>
    h(
      'tr',
      { 'data-peer': p.peerId, 'data-state': p.state, class: `peer state-${p.state}` },
      h('td', {}, h('strong', {}, p.device?.name ?? `peer ${shortId(p.peerId)}`), p.reason ? h('div', { class: 'reason' }, p.reason) : null),
      h('td', { 'data-field': 'state' }, STATE_LABEL[p.state]),
      // A gone worker's last numbers would read as current: show none.
      h('td', { 'data-field': 'rtt' }, p.state === 'gone' ? '–' : formatMs(p.rttMs)),
      h('td', { 'data-field': 'throughput' }, p.state === 'gone' ? '–' : formatBytesPerSec(p.throughputBytesPerSec)),
      h('td', { 'data-field': 'backends' }, backendOf(p.peerId) ? h('strong', {}, backendOf(p.peerId) ?? '') : null, backendOf(p.peerId) ? ' · offers ' : '', p.device?.backends.join(', ') ?? '–'),
      h('td', {}, p.state === 'gone' ? null : removeButton(p.peerId, onRemove)),
    ),
  );
  container.replaceChildren(
    h(
      'table',
      { class: 'peers' },
      h('thead', {}, h('tr', {}, ...['Device', 'State', 'RTT', 'Link', 'Backends', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, ...rows),
    ),
  );
}

function removeButton(peerId: string, onRemove: (peerId: string) => void): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'small', title: 'Disconnect this worker' }, 'Remove');
  button.addEventListener('click', () => onRemove(peerId));
  return button;
}
