/** Entry point: a join link (`#room=…&key=…`) makes this page a worker; otherwise it owns a room. */
import { parseJoinFragment } from './mesh/index.ts';
import { startOwnerPage, startPwa, startWorkerPage } from './ui/index.ts';
import './ui/style.css';

const root = document.getElementById('app') as HTMLElement;
startPwa(document.body);
const join = parseJoinFragment(location.hash);
// A fragment that names a room but fails to parse is a damaged join link, not a wish to own a room.
const damagedJoinLink = !join && /(^#|&)(room|key)=/.test(location.hash);
// A different fragment means a different role or room: start clean.
window.addEventListener('hashchange', () => location.reload());
// Back from the back/forward cache: the room was left on pagehide, so join it afresh.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});

const started = damagedJoinLink
  ? Promise.reject(new Error('this join link is incomplete or damaged (its room or key is missing). Scan the owner’s QR code again.'))
  : join
    ? startWorkerPage(root, join)
    : startOwnerPage(root);
started.catch((err: unknown) => {
  root.textContent = '';
  const p = document.createElement('p');
  p.className = 'banner error';
  p.textContent = `modnn-web could not start: ${err instanceof Error ? err.message : String(err)}`;
  root.append(p);
  console.error(err);
});
