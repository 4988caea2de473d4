/**
 * The one place that says how to launch Chromium for these tests (../shared/PLATFORM.md):
 * Debian's Chromium when present (Playwright cannot download its own here), WebRTC allowed on
 * loopback, no DNS or background traffic, no throttling of pages that are not in front.
 */
import { existsSync } from 'node:fs';
import type { BrowserContextOptions, LaunchOptions } from '@playwright/test';

const DEBIAN_CHROMIUM = '/usr/lib/chromium/chromium';

/** CHROMIUM_PATH, else Debian's Chromium, else Playwright's own browser (a developer laptop). */
export function chromiumExecutable(): string | undefined {
  const fromEnv = process.env['CHROMIUM_PATH'];
  if (fromEnv) return fromEnv;
  return existsSync(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : undefined;
}

export const CHROMIUM_ARGS = [
  // With only loopback, Chromium gathers no ICE candidates unless allowed to use it.
  '--allow-loopback-in-peer-connection',
  // No DNS at start-up or later, except for localhost.
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  // Several "devices" share one browser: none of them may be throttled as a background page.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export const launchOptions: LaunchOptions = {
  executablePath: chromiumExecutable(),
  args: CHROMIUM_ARGS,
};

/**
 * Each emulated device is its own context. Granting camera and microphone lifts Chromium's
 * restriction on host candidates (without it, loopback candidates are hidden behind mDNS).
 */
export const deviceContextOptions: BrowserContextOptions = {
  permissions: ['camera', 'microphone'],
};
