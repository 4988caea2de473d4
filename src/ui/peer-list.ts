/**
 * The owner's table of workers: name, state, the short code to compare with the worker's screen,
 * backend in use, capability, link (throughput, RTT, relayed or direct), share of the last image,
 * tasks done, and what the owner can do (approve, refuse, remove, block).
 */
import type { PeerView } from '../mesh/index.ts';
import { h, shortId } from './dom.ts';
import { formatBytesPerSec, formatMs } from './format.ts';

const STATE_LABEL: Record<PeerView['state'], string> = {
  connecting: 'connecting…',
  handshake: 'saying hello…',
  pending: 'asks to join',
  probing: 'measuring link…',
  ready: 'ready',
  gone: 'gone',
};

/** What the page knows about a worker beyond the mesh's view. */
export interface PeerExtras {
  /** The backend the worker says it runs (asked once it is ready). */
  backend?: string;
  /** Measured GFLOP/s on the selected model, once it has profiled it. */
  capability?: { backend: string; gflops: number };
  /** Its share of the last image's FLOPs (0–1), and tasks done so far. */
  share?: number;
  tasks?: number;
}

export interface PeerActions {
  approve: (peerId: string) => void;
  refuse: (peerId: string) => void;
  remove: (peerId: string) => void;
  /** Remove and keep out while this page lives. */
  block: (peerId: string) => void;
}

export function renderPeerList(container: HTMLElement, peers: readonly PeerView[], actions: PeerActions, extrasOf: (peerId: string) => PeerExtras): void {
  if (peers.length === 0) {
    container.replaceChildren(h('p', { class: 'muted' }, 'No workers yet. Scan the QR code with another phone on this network.'));
    return;
  }
  const rows = peers.map((p) => {
    const extras = extrasOf(p.peerId);
    const gone = p.state === 'gone';
    const name = p.device?.name ?? `peer ${shortId(p.peerId)}`;
    return h(
      'tr',
      { 'data-peer': p.peerId, 'data-state': p.state, class: `peer state-${p.state}` },
      h('th', { scope: 'row' }, name, p.reason ? h('div', { class: 'reason' }, p.reason) : null),
      h('td', { 'data-field': 'state' }, STATE_LABEL[p.state]),
      // Shown only once the worker proved the join key on this very connection.
      h('td', { 'data-field': 'auth-code', title: 'The same code must show on the worker’s screen' }, p.authCode && !gone ? p.authCode : '–'),
      h('td', { 'data-field': 'backend' }, extras.backend ? h('strong', {}, extras.backend) : p.device ? `offers ${p.device.backends.join(', ')}` : '–'),
      h('td', { 'data-field': 'capability' }, extras.capability ? `${formatGflops(extras.capability.gflops)} GFLOP/s` : '–'),
      // A gone worker's last numbers would read as current: show none.
      h(
        'td',
        { 'data-field': 'link' },
        gone ? '–' : h('span', { 'data-field': 'throughput' }, formatBytesPerSec(p.throughputBytesPerSec)),
        gone ? null : h('span', { class: 'muted', 'data-field': 'rtt' }, ` · ${formatMs(p.rttMs)}`),
        p.relayed && !gone ? h('div', { class: 'muted', 'data-field': 'relayed', title: 'No direct link could be made: frames go through the server, sealed with the room key' }, 'relayed via server') : null,
      ),
      h('td', { 'data-field': 'share' }, extras.share === undefined ? '–' : `${Math.round(extras.share * 100)}%`),
      h('td', { 'data-field': 'tasks' }, String(extras.tasks ?? 0)),
      h('td', { class: 'actions' }, ...buttonsFor(p, name, actions)),
    );
  });
  container.replaceChildren(
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'peers' },
        h('caption', { class: 'visually-hidden' }, 'Workers in this room'),
        h('thead', {}, h('tr', {}, ...['Device', 'State', 'Code', 'Backend', 'Speed', 'Link · RTT', 'Last image', 'Tasks', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...rows),
      ),
    ),
  );
}

function buttonsFor(p: PeerView, name: string, actions: PeerActions): HTMLButtonElement[] {
  const button = (text: string, cls: string, label: string, act: (peerId: string) => void) => {
    const b = h('button', { type: 'button', class: `small ${cls}`, 'aria-label': label }, text);
    b.addEventListener('click', () => act(p.peerId));
    return b;
  };
  if (p.state === 'gone') return [];
  if (p.state === 'pending') return [button('Approve', '', `Approve ${name}`, actions.approve), button('Refuse', 'danger', `Refuse ${name}`, actions.refuse)];
  return [button('Remove', 'secondary', `Remove ${name}`, actions.remove), button('Block', 'danger', `Block ${name}`, actions.block)];
}

const formatGflops = (g: number): string => (g >= 10 ? g.toFixed(0) : g.toPrecision(2));
