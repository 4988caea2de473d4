/** The owner's page: the room's QR code and link, and the list of workers with their links' health. */
import {
  OwnerMesh,
  describeThisDevice,
  isRoomCredentials,
  newRoomCredentials,
  type RoomCredentials,
} from '../mesh/index.ts';
import { createSocket, createTransport, signalingUrl } from './browser-mesh.ts';
import { h } from './dom.ts';
import { readPageConfig } from './page-config.ts';
import { renderPeerList } from './peer-list.ts';
import { drawQr } from './qr.ts';
import { startCompute } from './compute-setup.ts';
import { createModelRunner } from './try-model.ts';

const ROOM_KEY = 'modnn.room';

/** The room of this tab: kept in sessionStorage so a reload takes the same room back. */
function roomOfThisTab(): RoomCredentials {
  try {
    const stored: unknown = JSON.parse(sessionStorage.getItem(ROOM_KEY) ?? 'null');
    if (isRoomCredentials(stored)) return stored;
  } catch {
    // unreadable: make a new room
  }
  const fresh = newRoomCredentials();
  sessionStorage.setItem(ROOM_KEY, JSON.stringify(fresh));
  return fresh;
}

export async function startOwnerPage(root: HTMLElement): Promise<OwnerMesh> {
  const credentials = roomOfThisTab();
  const config = readPageConfig(location.search);
  const mesh = new OwnerMesh({
    credentials,
    signalingUrl: signalingUrl(),
    createSocket,
    createTransport,
    local: await describeThisDevice(),
    pageUrl: `${location.origin}/`,
    link: { chunkBytes: config.chunkBytes },
    probe: config.probe ? {} : false,
  });

  const qrCanvas = h('canvas', { class: 'qr', 'aria-label': 'QR code to join this room' });
  const linkInput = h('input', { class: 'join-link', readonly: true, 'aria-label': 'Join link' });
  const copyButton = h('button', { type: 'button' }, 'Copy link');
  const newRoomButton = h('button', { type: 'button', class: 'secondary' }, 'New room');
  const connection = h('span', { class: 'pill', 'data-signaling': 'connecting' }, 'connecting to server…');
  const banner = h('p', { class: 'banner error', hidden: true });
  const peerList = h('div', { id: 'peers' });
  const summary = h('span', { class: 'muted' });
  const runCard = h('section', { class: 'card' });
  const backendPill = h('span', { class: 'pill', 'data-field': 'backend' }, 'backend: measuring…');

  root.replaceChildren(
    h('header', {}, h('h1', {}, 'modnn-web'), backendPill, connection),
    banner,
    h(
      'section',
      { class: 'card join' },
      h('h2', {}, 'Invite phones'),
      h('p', { class: 'muted' }, 'Scan with a phone on the same Wi-Fi. The first time, the phone warns about the certificate: accept it once.'),
      qrCanvas,
      h('div', { class: 'row' }, linkInput, copyButton),
      h('div', { class: 'row' }, newRoomButton),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Workers ', summary), peerList),
    runCard,
  );
  const backend = startCompute(config.backend);
  void backend.then(
    (b) => (backendPill.textContent = `backend: ${b.name}`),
    (err: Error) => (backendPill.textContent = `no backend: ${err.message}`),
  );
  const runner = createModelRunner(mesh, backend);
  runner.render(runCard);

  let shownLink = '';
  const showJoinLink = async () => {
    const link = mesh.joinUrl();
    if (link === shownLink) return;
    shownLink = link;
    linkInput.value = link;
    await drawQr(qrCanvas, link);
  };
  const render = () => {
    const peers = mesh.peers();
    renderPeerList(peerList, peers, (peerId) => mesh.remove(peerId), (peerId) => backends.get(peerId));
    const ready = peers.filter((p) => p.state === 'ready').length;
    summary.textContent = `${ready} ready`;
    void showJoinLink();
  };

  copyButton.addEventListener('click', () => {
    void navigator.clipboard?.writeText(linkInput.value).then(
      () => (copyButton.textContent = 'Copied'),
      () => linkInput.select(),
    );
  });
  newRoomButton.addEventListener('click', () => {
    mesh.close('the owner opened a new room');
    sessionStorage.removeItem(ROOM_KEY);
    location.reload();
  });
  // Each worker's backend in use, asked once it is ready.
  const backends = new Map<string, string>();
  mesh.on('peer-ready', ({ peerId }) => {
    mesh.request(peerId, { method: 'runtime.info' }).then(
      (reply) => {
        const info = reply.meta as { backend?: unknown; adapter?: unknown } | null;
        if (typeof info?.backend !== 'string') return;
        backends.set(peerId, typeof info.adapter === 'string' ? `${info.backend} (${info.adapter})` : info.backend);
        render();
      },
      () => {}, // an old worker without the runtime: the list shows what it offers
    );
  });
  mesh.on('change', render);
  mesh.on('signaling', (state) => {
    connection.dataset['signaling'] = state;
    connection.textContent = { connecting: 'connecting to server…', open: 'room open', reconnecting: 'reconnecting to server…', stopped: 'disconnected' }[state];
    if (state === 'open') banner.hidden = true;
  });
  mesh.on('error', (err) => {
    banner.hidden = false;
    banner.textContent = err.message.replace(/^modnn-web: /, '');
  });
  // Tell workers right away when this page goes, instead of letting them time out.
  window.addEventListener('pagehide', () => mesh.close('the owner page closed'));

  render();
  await mesh.start();
  Object.assign(window, { modnn: { role: 'owner', mesh, backend, classify: runner.classify, useModelFiles: runner.useModelFiles, useServedModel: runner.useServedModel, tensorCount: runner.tensorCount } });
  return mesh;
}
