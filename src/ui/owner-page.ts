/**
 * The owner's page: classify an image (the main card), invite phones (QR code and link), the
 * workers with their health and share of the work (approve, refuse, remove), and the settings.
 */
import {
  OwnerMesh,
  describeThisDevice,
  isRoomCredentials,
  newRoomCredentials,
  type RoomCredentials,
} from '../mesh/index.ts';
import { infoReplySchema, parseReply } from '../runtime/index.ts';
import { createSocket, createTransport, signalingUrl } from './browser-mesh.ts';
import { h, shortId } from './dom.ts';
import { readPageConfig } from './page-config.ts';
import { createClassifyCard } from './classify-card.ts';
import { startCompute } from './compute-setup.ts';
import { createModelRunner, type ClassifySummary } from './model-runner.ts';
import { renderPeerList, type PeerExtras } from './peer-list.ts';
import { drawQr } from './qr.ts';
import { createSettingsCard } from './settings-card.ts';

const ROOM_KEY = 'modnn.room';
const AUTO_APPROVE_KEY = 'modnn.autoApprove';

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

/** Automatic approval is the owner's standing choice on this browser; on unless turned off (the join key is already a secret). */
function autoApproveChoice(): boolean {
  try {
    return localStorage.getItem(AUTO_APPROVE_KEY) !== 'false';
  } catch {
    return true;
  }
}

export async function startOwnerPage(root: HTMLElement): Promise<OwnerMesh> {
  const credentials = roomOfThisTab();
  const config = readPageConfig(location.search);
  const local = await describeThisDevice();
  const mesh = new OwnerMesh({
    credentials,
    signalingUrl: signalingUrl(),
    createSocket,
    createTransport,
    local,
    pageUrl: `${location.origin}/`,
    link: { chunkBytes: config.chunkBytes },
    probe: config.probe ? {} : false,
    relay: { mode: config.relay, directTimeoutMs: config.relayAfterMs },
    autoApprove: autoApproveChoice(),
  });
  const backend = startCompute(config.backend);
  const runner = createModelRunner(mesh, backend);

  // What the page learns about each worker from the images it ran.
  const tasksDone = new Map<string, number>();
  let lastShare = new Map<string, number>();
  let capabilities = new Map<string, { backend: string; gflops: number }>();
  const refreshCapabilities = () =>
    void runner.workerCapabilities().then((c) => {
      capabilities = c;
      renderPeers();
    });
  const onResult = (s: ClassifySummary) => {
    const ok = s.trace.filter((t) => t.outcome === 'ok');
    const total = ok.reduce((sum, t) => sum + t.flops, 0);
    lastShare = new Map();
    for (const t of ok) {
      lastShare.set(t.deviceId, (lastShare.get(t.deviceId) ?? 0) + (total > 0 ? t.flops / total : 0));
      if (t.device > 0) tasksDone.set(t.deviceId, (tasksDone.get(t.deviceId) ?? 0) + 1);
    }
    refreshCapabilities();
  };
  const ownerLabel = () => `this device (${backendName})`;
  let backendName = 'measuring…';
  const deviceLabel = (id: string) => (id === 'owner' ? ownerLabel() : (mesh.peers().find((p) => p.peerId === id)?.device?.name ?? `worker ${shortId(id)}`));

  const settings = createSettingsCard(runner, backend);
  const classify = createClassifyCard({ runner, scheme: settings.scheme, workersReady: () => mesh.readyPeers().length, deviceLabel, onResult });

  const qrCanvas = h('canvas', { class: 'qr', role: 'img', 'aria-label': 'QR code to join this room' });
  const linkInput = h('input', { class: 'join-link', readonly: true, id: 'join-link', 'aria-label': 'Join link' });
  const copyButton = h('button', { type: 'button' }, 'Copy link');
  const newRoomButton = h('button', { type: 'button', class: 'secondary' }, 'New room');
  const connection = h('span', { class: 'pill', 'data-signaling': 'connecting' }, 'connecting to server…');
  const banner = h('p', { class: 'banner error', role: 'alert', hidden: true });
  const peerList = h('div', { id: 'peers' });
  const summary = h('span', { class: 'muted', 'data-field': 'peer-summary' });
  const backendPill = h('span', { class: 'pill', 'data-field': 'backend' }, 'backend: measuring…');
  const autoApprove = h('input', { type: 'checkbox', id: 'auto-approve', 'data-field': 'auto-approve', checked: mesh.autoApproving });

  root.replaceChildren(
    h('header', {}, h('h1', {}, 'modnn-web'), h('div', { class: 'pills' }, backendPill, connection)),
    banner,
    h(
      'div',
      { class: 'owner-layout' },
      h('div', { class: 'column' }, classify.element, settings.element),
      h(
        'div',
        { class: 'column' },
        h(
          'section',
          { class: 'card join', 'aria-labelledby': 'join-title' },
          h('h2', { id: 'join-title' }, 'Invite phones'),
          h('p', { class: 'muted' }, 'Scan with a phone on the same Wi-Fi. The first time, the phone warns about the certificate: accept it once.'),
          qrCanvas,
          h('div', { class: 'row' }, linkInput, copyButton),
          h('div', { class: 'row' }, newRoomButton),
        ),
        h(
          'section',
          { class: 'card', 'aria-labelledby': 'workers-title' },
          h('h2', { id: 'workers-title' }, 'Workers ', summary),
          h('label', { class: 'switch' }, autoApprove, ' Let new phones in without asking'),
          h('p', { class: 'muted' }, 'Each phone shows a code once it has proved the room key: it must match the Code column. If it does not, someone is in the middle: block that phone.'),
          peerList,
        ),
      ),
    ),
  );
  void backend.then(
    (b) => {
      backendName = b.name;
      backendPill.textContent = `backend: ${b.name}`;
    },
    (err: Error) => (backendPill.textContent = `no backend: ${err.message}`),
  );

  let shownLink = '';
  const showJoinLink = async () => {
    const link = mesh.joinUrl();
    if (link === shownLink) return;
    shownLink = link;
    linkInput.value = link;
    await drawQr(qrCanvas, link);
  };
  const extrasOf = (peerId: string): PeerExtras => {
    const capability = capabilities.get(peerId);
    const share = lastShare.get(peerId);
    const backend = backends.get(peerId) ?? capability?.backend;
    return { ...(backend ? { backend } : {}), ...(capability ? { capability } : {}), ...(share !== undefined ? { share } : {}), tasks: tasksDone.get(peerId) ?? 0 };
  };
  const renderPeers = () => {
    const peers = mesh.peers();
    renderPeerList(peerList, peers, { approve: (id) => mesh.approve(id), refuse: (id) => mesh.refuse(id), remove: (id) => mesh.remove(id), block: (id) => mesh.block(id) }, extrasOf);
    const ready = peers.filter((p) => p.state === 'ready').length;
    const pending = peers.filter((p) => p.state === 'pending').length;
    summary.textContent = `${ready} ready${pending ? ` · ${pending} waiting for you` : ''}`;
    void showJoinLink();
  };

  autoApprove.addEventListener('change', () => {
    mesh.setAutoApprove(autoApprove.checked);
    try {
      localStorage.setItem(AUTO_APPROVE_KEY, String(autoApprove.checked));
    } catch {
      // private mode: the choice lasts for this page
    }
  });
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
  // Each worker's backend in use, asked once it is ready; its capability is known once it has
  // profiled the selected model (shortly after).
  const backends = new Map<string, string>();
  mesh.on('peer-ready', ({ peerId }) => {
    mesh.request(peerId, { method: 'runtime.info' }).then(
      (reply) => {
        const info = parseReply(infoReplySchema, reply.meta);
        if (!info?.backend) return;
        backends.set(peerId, `${info.backend.slice(0, 20)}${info.adapter ? ` (${info.adapter.slice(0, 60)})` : ''}`);
        renderPeers();
      },
      () => {}, // an old worker without the runtime: the list shows what it offers
    );
    setTimeout(refreshCapabilities, 2_000);
  });
  mesh.on('change', renderPeers);
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

  renderPeers();
  // The page API for tests and benchmarks, set before the server answers: classifying alone works offline.
  Object.assign(window, {
    modnn: {
      role: 'owner',
      mesh,
      backend,
      classify: runner.classify,
      classifyMany: runner.classifyManyValues,
      classifyFile: classify.classifyFile,
      classifyFiles: classify.classifyFiles,
      selectModel: (id: string) => runner.select(id),
      useModelFiles: runner.useModelFiles,
      useServedModel: runner.useServedModel,
      tensorCount: runner.tensorCount,
    },
  });
  runner.select(runner.selected); // load the default model now
  await mesh.start();
  return mesh;
}
