/**
 * The installable, offline app: registers the service worker that vite-plugin-pwa builds
 * (`sw.js`: the app shell, TF.js's WASM files and the built-in models precached), says once when
 * the app works offline, and offers a new version without ever reloading the page by itself: a
 * worker phone in the middle of a run reloads only when its user says so.
 */
import { Workbox } from 'workbox-window';
import { h } from './dom.ts';
import './pwa.css';

/** How often an open page (worker phones stay open for hours) asks the server for a new version. */
const UPDATE_CHECK_MS = 60 * 60_000;
/** The "works offline" note goes away by itself after this long, unless it has the focus. */
const NOTE_MS = 12_000;

export function startPwa(container: HTMLElement): void {
  // Not in `vite dev` (no service worker is built there), and only where the browser allows one:
  // a secure context (HTTPS on the LAN, or localhost).
  if (!import.meta.env.PROD || !('serviceWorker' in navigator) || !window.isSecureContext) return;

  // The live region exists before anything is said in it, so screen readers announce its notes.
  const region = h('div', { class: 'pwa-notes', role: 'status', 'aria-live': 'polite' });
  container.append(region);

  const base = import.meta.env.BASE_URL;
  const wb = new Workbox(`${base}sw.js`, { scope: base });
  let reloadWhenControlled = false;
  let noteTimer: ReturnType<typeof setTimeout> | undefined;

  const show = (kind: 'offline-ready' | 'update', text: string, ...buttons: HTMLButtonElement[]): HTMLElement => {
    clearTimeout(noteTimer);
    const note = h('div', { class: 'pwa-note', 'data-pwa': kind }, h('span', {}, text), ...buttons);
    region.replaceChildren(note);
    return note;
  };
  const dismissButton = (label: string, ariaLabel: string): HTMLButtonElement => {
    const button = h('button', { type: 'button', class: 'secondary small', 'aria-label': ariaLabel }, label);
    button.addEventListener('click', () => {
      clearTimeout(noteTimer);
      region.replaceChildren();
    });
    return button;
  };

  // The first install: everything is cached now. Not an update (isUpdate: this page was controlled
  // when it registered; isExternal: found later, by the hourly check or another tab).
  wb.addEventListener('installed', (event) => {
    if (event.isUpdate || event.isExternal) return;
    const note = show('offline-ready', 'modnn-web works offline now: this device can classify without the network.', dismissButton('OK', 'Dismiss this note'));
    const hide = () => {
      if (!note.contains(document.activeElement)) region.replaceChildren();
      else noteTimer = setTimeout(hide, NOTE_MS);
    };
    noteTimer = setTimeout(hide, NOTE_MS);
  });

  // A new version is installed and waits for this page (and any other tab of the app) to let go.
  wb.addEventListener('waiting', () => {
    const reload = h('button', { type: 'button', class: 'small' }, 'Reload');
    reload.addEventListener('click', () => {
      reload.disabled = true;
      reload.textContent = 'Reloading…';
      reloadWhenControlled = true;
      // The new worker activates and takes control; 'controlling' below reloads into it.
      wb.messageSkipWaiting();
    });
    show('update', 'A new version of modnn-web is ready.', reload, dismissButton('Later', 'Not now: keep this version until the next visit'));
  });

  // The browser's own event, not workbox-window's 'controlling': that one is not sent for every
  // worker workbox-window did not register itself, and a Reload click then waited for nothing
  // (seen once in a clean-clone CI run).
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (reloadWhenControlled) location.reload();
  });

  wb.register()
    .then((registration) => {
      if (!registration) return;
      setInterval(() => {
        // Offline, or the server is down: try again next time.
        registration.update().catch(() => {});
      }, UPDATE_CHECK_MS);
    })
    .catch((err: unknown) => {
      // Without a service worker the app still works online; say why in the console only.
      console.warn(`modnn-web: the offline app could not be installed: ${err instanceof Error ? err.message : String(err)}`);
    });
}
