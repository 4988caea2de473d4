export { startOwnerPage } from './owner-page.ts';
export { startWorkerPage } from './worker-page.ts';
export { startPwa } from './pwa.ts';
