/**
 * A hostile worker with real pages and real WebRTC: owner + 2 honest workers + 1 worker page
 * whose data channel is tapped from outside (hostile-page.ts). While an image is classified across
 * all of them, the hostile page answers its task with garbage: a tensor of absurd shape behind a
 * valid header, then a 4 GiB length claim, a truncated frame and random bytes. The owner page stays
 * up, drops it with the decoder's reason in its workers table, keeps the honest workers, and the
 * image gets the owner-alone answer.
 */
import type { Page } from '@playwright/test';
import { expect, joinWorker, openRoom, test, type Fixtures } from './fixtures.ts';
import { installHostileChannelTap, WIRE, type GarbageKind, type HostileControls } from './hostile-page.ts';
import { fashionSamples, maxAbsDiff, sampleValues } from './images.ts';

interface Summary {
  top: { label: string }[];
  logits: number[];
  devices: string[];
  failed: { deviceId: string; reason: string }[];
}
type OwnerApi = { classify(r: unknown): Promise<Summary>; mesh: { peers(): { peerId: string }[] } };

const peerIds = (owner: Page) => owner.evaluate(() => (window as unknown as { modnn: OwnerApi }).modnn.mesh.peers().map((p) => p.peerId));

/** A worker page with its channel tapped, joined and ready on the owner; resolves with its peer id. */
async function joinHostile(newDevice: Fixtures['newDevice'], owner: Page): Promise<{ page: Page; peerId: string }> {
  const before = new Set(await peerIds(owner));
  const page = await joinWorker(newDevice, owner, await owner.locator('input.join-link').inputValue(), { label: 'hostile worker', initScript: installHostileChannelTap, initArg: WIRE, timeout: 30_000 });
  const peerId = (await peerIds(owner)).find((id) => !before.has(id));
  expect(peerId).toBeDefined();
  return { page, peerId: peerId as string };
}

const GARBAGE: GarbageKind[] = ['absurd-shape', 'oversized', 'truncated', 'random'];

test('a worker that answers its task with garbage is dropped with the reason, the owner stays up, and the image in progress still gets the right answer', async ({ newDevice, baseUrl }) => {
  const { owner } = await openRoom(newDevice, baseUrl, 2);
  const ownerErrors: string[] = [];
  owner.on('pageerror', (err) => ownerErrors.push(err.message));
  const honest = await peerIds(owner);
  const sample = (await fashionSamples())[0];
  const values = sampleValues(sample);
  const classify = (scheme: string) =>
    owner.evaluate(([v, s]) => (window as unknown as { modnn: OwnerApi }).modnn.classify({ model: 'clothing', values: v, scheme: s, split: 'equal' }), [values, scheme] as const);
  const alone = await classify('owner');

  const hostile = await joinHostile(newDevice, owner);
  await hostile.page.evaluate((kinds) => (window as unknown as { hostile: HostileControls }).hostile.arm(kinds), GARBAGE);
  const mesh = await classify('fused');

  // It was given a task and answered it with garbage; the owner dropped it, saying why.
  expect(await hostile.page.evaluate(() => (window as unknown as { hostile: HostileControls }).hostile.fired)).toBe(1);
  const row = (peerId: string) => owner.locator(`tr.peer[data-peer="${peerId}"]`);
  await expect(row(hostile.peerId)).toHaveAttribute('data-state', 'gone');
  await expect(row(hostile.peerId).locator('.reason')).toContainText('tensor 0 of shape [65536,65536,…] exceeds the message limit');
  // The image in progress: the owner-alone answer, the hostile share recomputed, the honest workers' shares kept.
  expect(mesh.top[0]?.label).toBe(alone.top[0]?.label);
  expect(maxAbsDiff(mesh.logits, alone.logits)).toBeLessThan(1e-4);
  expect(mesh.failed.map((f) => f.reason).join()).toMatch(/exceeds the message limit/);
  expect(mesh.devices.length).toBeGreaterThan(2);

  // The honest workers never noticed; the owner page never failed, and still classifies across them.
  for (const id of honest) await expect(row(id)).toHaveAttribute('data-state', 'ready');
  const after = await classify('fused');
  expect(after.failed).toEqual([]);
  expect(after.top[0]?.label).toBe(alone.top[0]?.label);
  expect(ownerErrors).toEqual([]);
});
