/**
 * The worker's page: big status, what it is doing, its direct links to other workers (resident
 * runs swap halo rows over them), the screen kept on, and a leave button.
 */
import * as tf from '@tensorflow/tfjs';
import { profileCompute } from '../compute/index.ts';
import { WorkerMesh, describeThisDevice, type WorkerState } from '../mesh/index.ts';
import { keptWeightTensorCount } from '../model/index.ts';
import { WorkerExecutor, browserModelStore, fetchServedModel } from '../runtime/index.ts';
import { startCompute } from './compute-setup.ts';
import { createSocket, createTransport, signalingUrl } from './browser-mesh.ts';
import { h, shortId } from './dom.ts';
import { formatBytes } from './format.ts';
import { readPageConfig } from './page-config.ts';
import { keepScreenOn, type WakeLockState } from './wake-lock.ts';

const STATUS: Record<WorkerState, { title: string; detail: string }> = {
  joining: { title: 'Joining…', detail: 'Contacting the server.' },
  waiting: { title: 'Waiting for the owner', detail: 'In the room; the owner’s page will connect to this phone.' },
  connecting: { title: 'Connecting…', detail: 'Opening a direct link to the owner.' },
  pending: { title: 'Waiting for approval', detail: 'Linked to the owner: the owner’s page asks whether to let this phone in.' },
  ready: { title: 'Ready', detail: 'Linked to the owner. Keep this page open and the screen on.' },
  left: { title: 'Left', detail: 'You left the room. Scan the QR code again to rejoin.' },
  failed: { title: 'Could not join', detail: '' },
};

/** What a request means to the person holding the phone. */
const DOING: Record<string, string> = {
  'runtime.load': 'Loading the model',
  'runtime.model.put': 'Receiving the model',
  'runtime.profile': 'Measuring this phone’s speed',
  'runtime.spatial': 'Computing image rows',
  'runtime.fc.install': 'Keeping its share of the fully-connected weights',
  'runtime.fc': 'Computing a fully-connected share',
  'runtime.info': 'Telling the owner its backend',
  'runtime.peers': 'Linking to other workers',
  'runtime.resident': 'Computing its strip of the image',
  'runtime.resident.halo': 'Swapping border rows with a neighbour',
  'runtime.resident.pull': 'Sending border rows to the owner',
  'runtime.resident.cancel': 'Stopping a run',
};
/** A task this recent means the phone is busy now. */
const BUSY_MS = 1_500;

const WAKE_LOCK_TEXT: Record<WakeLockState, string> = {
  unsupported: 'This browser cannot keep the screen on: turn off auto-lock while serving.',
  held: 'Screen kept on while serving.',
  released: 'Screen may turn off: tap here to keep serving.',
  refused: 'The browser refused to keep the screen on: turn off auto-lock while serving.',
};

export async function startWorkerPage(root: HTMLElement, join: { roomId: string; joinKey: string }): Promise<WorkerMesh> {
  const local = await describeThisDevice();
  const { chunkBytes, backend: backendOverride } = readPageConfig(location.search);
  const mesh = new WorkerMesh({ roomId: join.roomId, joinKey: join.joinKey, signalingUrl: signalingUrl(), createSocket, createTransport, local, link: { chunkBytes } });

  const title = h('h2', { class: 'status-title', 'data-state': mesh.state });
  const detail = h('p', { class: 'status-detail' });
  const requests = h('span', { 'data-field': 'requests' }, '0');
  const tasks = h('span', { 'data-field': 'tasks' }, '0');
  const doing = h('span', { 'data-field': 'doing' }, 'Nothing yet');
  const backendText = h('span', { 'data-field': 'backend' }, 'measuring…');
  const link = h('span', { 'data-field': 'link' }, '–');
  const neighbourText = h('span', { 'data-field': 'neighbours' }, '0');
  const authCode = h('strong', { 'data-field': 'auth-code', class: 'auth-code' }, '–');
  const wake = h('p', { class: 'muted', 'data-field': 'wake-lock' });
  const leaveButton = h('button', { type: 'button', class: 'danger' }, 'Leave');

  root.replaceChildren(
    h('header', {}, h('h1', {}, 'modnn-web'), h('span', { class: 'pill' }, 'worker')),
    h(
      'section',
      { class: 'card status' },
      title,
      detail,
      h('p', {}, `Joined room ${shortId(join.roomId)}… as worker `, h('strong', {}, local.name)),
      h('dl', {}, h('dt', {}, 'Doing now'), h('dd', {}, doing), h('dt', {}, 'Backend in use'), h('dd', {}, backendText), h('dt', {}, 'Backends offered'), h('dd', {}, local.backends.join(', ')), h('dt', {}, 'Requests answered'), h('dd', {}, requests), h('dt', {}, 'Tasks computed'), h('dd', {}, tasks), h('dt', {}, 'Link'), h('dd', {}, link), h('dt', {}, 'Direct links to other workers'), h('dd', {}, neighbourText), h('dt', {}, 'Code (must match the owner’s screen)'), h('dd', {}, authCode)),
      wake,
      h('p', { class: 'muted' }, 'A hidden tab or a locked screen stops this phone from working: keep this page in front.'),
      leaveButton,
    ),
  );

  let answered = 0;
  let lastTaskAt = -Infinity;
  const render = () => {
    const status = STATUS[mesh.state];
    const computing = mesh.state === 'ready' && performance.now() - lastTaskAt < BUSY_MS;
    title.dataset['state'] = computing ? 'computing' : mesh.state;
    title.textContent = computing ? 'Computing…' : status.title;
    if (!computing && doing.textContent !== 'Nothing yet') doing.textContent = mesh.state === 'ready' ? 'Idle: waiting for the next image' : '–';
    detail.textContent = mesh.state === 'failed' ? (mesh.error?.message.replace(/^modnn-web: /, '') ?? 'The server refused.') : status.detail;
    if (mesh.state === 'waiting' && mesh.error) detail.textContent = `${status.detail} (${mesh.error.message.replace(/^modnn-web: /, '')})`;
    const linked = mesh.state === 'ready' || mesh.state === 'pending';
    link.textContent = linked ? `owner ${mesh.owner?.name ?? ''}, RTT ${mesh.rttMs?.toFixed(1) ?? '–'} ms${mesh.relayed ? ' · relayed via server' : ' · direct'}` : '–';
    authCode.textContent = (linked && mesh.authCode) || '–';
    leaveButton.hidden = mesh.state === 'left' || mesh.state === 'failed';
    const neighbours = mesh.neighbours();
    neighbourText.textContent = `${neighbours.length}${neighbours.length > 0 ? ` (${formatBytes(neighbourBytes())} exchanged)` : ''}`;
  };
  // Bytes each neighbour link moved, kept after the link goes so the total only grows.
  const neighbourTraffic = new Map<string, number>();
  const neighbourBytes = (): number => {
    for (const peerId of mesh.neighbours()) {
      const stats = mesh.neighbourStats(peerId);
      if (stats) neighbourTraffic.set(peerId, stats.bytesSent + stats.bytesReceived);
    }
    return [...neighbourTraffic.values()].reduce((sum, b) => sum + b, 0);
  };
  mesh.on('state', render);
  mesh.on('error', render);
  mesh.on('neighbour', render);
  // Compute: the fastest backend here, and the runtime's task handlers.
  const backend = await startCompute(backendOverride);
  backendText.textContent = backend.adapter ? `${backend.name} (${backend.adapter})` : backend.name;
  const executor = new WorkerExecutor({
    tf,
    store: browserModelStore(),
    fetchModel: fetchServedModel(tf),
    backend: { name: backend.name, adapter: backend.adapter },
    profiler: async (graph) => ({ backend: backend.name, adapter: backend.adapter, ...(await profileCompute(graph)) }),
    neighbours: {
      connect: (peerId) => mesh.connectNeighbour(peerId),
      request: (peerId, meta, tensors, options) => mesh.neighbourRequest(peerId, meta, tensors, options),
    },
  });
  for (const [method, handler] of Object.entries(executor.methods)) mesh.handle(method, handler);
  mesh.on('request', (request) => {
    answered++;
    requests.textContent = String(answered);
    const method = (request.meta as { method?: unknown } | null)?.method;
    doing.textContent = (typeof method === 'string' && DOING[method]) || 'Working';
    lastTaskAt = performance.now();
    render();
  });

  const releaseWakeLock = keepScreenOn((state) => (wake.textContent = WAKE_LOCK_TEXT[state]));
  wake.addEventListener('click', () => document.dispatchEvent(new Event('visibilitychange')));
  leaveButton.addEventListener('click', () => {
    mesh.leave('the worker left');
    releaseWakeLock();
    render();
  });
  window.addEventListener('pagehide', () => mesh.leave('the worker page closed'));

  render();
  await mesh.start();
  setInterval(() => {
    render(); // RTT refresh, busy → idle
    tasks.textContent = `${executor.stats.tasks} (${executor.stats.rows} rows)`;
  }, 1_000);
  Object.assign(window, {
    modnn: {
      role: 'worker',
      mesh,
      executor,
      backend,
      tensorCount: () => tf.memory().numTensors - keptWeightTensorCount(),
      /** Peer ids of the other workers this one has a direct link to now. */
      neighbours: () => mesh.neighbours(),
      /** Bytes sent and received over direct links to other workers, since the page opened. */
      neighbourBytes,
    },
  });
  return mesh;
}
