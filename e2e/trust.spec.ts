/**
 * Trust between real pages over real WebRTC: the short authentication code derived from the
 * channel proof is the same on the owner's row and on the worker's screen; a blocked phone stays
 * out when it comes back; and with the relay forced, owner + 2 workers classify through the
 * server's WebSocket with the same answer as the owner alone.
 */
import { expect, openRoom, test } from './fixtures.ts';
import { fashionSamples, maxAbsDiff, sampleValues } from './images.ts';

interface Summary {
  top: { label: string }[];
  logits: number[];
  devices: string[];
  failed: unknown[];
}
type Api = { classify(r: unknown): Promise<Summary> };

test('the owner’s row and the worker’s screen show the same short code; a blocked phone is turned away when it comes back', async ({ newDevice, baseUrl }) => {
  const { owner, workers } = await openRoom(newDevice, baseUrl, 1);
  const worker = workers[0]!;
  const row = owner.locator('tr.peer[data-state="ready"]');
  const code = (await row.locator('[data-field="auth-code"]').textContent()) ?? '';
  expect(code).toMatch(/^\d{3} \d{3}$/);
  await expect(worker.locator('[data-field="auth-code"]')).toHaveText(code);
  await expect(row.locator('[data-field="link"]')).not.toContainText('relayed');
  await expect(worker.locator('[data-field="link"]')).toContainText('direct');

  const peerId = await row.getAttribute('data-peer');
  await row.getByRole('button', { name: /^Block / }).click();
  // (A connection attempt that failed earlier may still be listed as gone: look for these rows only.)
  await expect(owner.locator(`tr.peer[data-peer="${peerId}"]`)).toHaveAttribute('data-state', 'gone');
  const blocked = owner.locator('tr.peer[data-state="gone"]', { hasText: 'blocked by the owner' });
  await expect(blocked).toHaveCount(1);
  await expect(worker.locator('.status-title')).toHaveText('Waiting for the owner');

  // The same phone (its device id survives a reload) joins again: it proves the key, and is turned away.
  await worker.reload();
  await expect(blocked).toHaveCount(2, { timeout: 30_000 });
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(0);
  await expect(worker.locator('.status-title')).not.toHaveText('Ready');
  await expect(worker.locator('[data-field="auth-code"]')).toHaveText('–');
});

test('relay forced: owner + 2 workers classify through the server with the same answer as the owner alone, and the table says relayed', async ({ newDevice, baseUrl, server }) => {
  const { owner, workers } = await openRoom(newDevice, `${baseUrl}?relay=force`, 2);
  const rows = owner.locator('tr.peer[data-state="ready"]');
  await expect(rows.locator('[data-field="relayed"]')).toHaveText(['relayed via server', 'relayed via server']);
  for (const worker of workers) await expect(worker.locator('[data-field="link"]')).toContainText('relayed via server');
  // The probe ran over the relay: each link has a measured throughput.
  const throughputs = await owner.evaluate(() => (window as unknown as { modnn: { mesh: { peers(): { throughputBytesPerSec: number | null }[] } } }).modnn.mesh.peers().map((p) => p.throughputBytesPerSec));
  for (const t of throughputs) expect(t).toBeGreaterThan(0);
  test.info().annotations.push({ type: 'relayed probe throughput, MB/s', description: throughputs.map((t) => ((t ?? 0) / 1e6).toFixed(1)).join(', ') });
  // Both screens still agree on the code over the relay.
  const codes = await rows.locator('[data-field="auth-code"]').allTextContents();
  for (const worker of workers) expect(codes).toContain(await worker.locator('[data-field="auth-code"]').textContent());

  const sample = (await fashionSamples())[0]!;
  const values = sampleValues(sample);
  const run = (scheme: string) => owner.evaluate(([v, s]) => (window as unknown as { modnn: Api }).modnn.classify({ model: 'clothing', values: v, scheme: s }), [values, scheme] as const);
  const alone = await run('owner');
  const framesBefore = server.relayStats().frames;
  const mesh = await run('fused');
  expect(mesh.failed).toEqual([]);
  expect(mesh.devices.length).toBeGreaterThan(1);
  expect(server.relayStats().frames).toBeGreaterThan(framesBefore); // the image's work went through the server
  expect(mesh.top[0]?.label).toBe(alone.top[0]?.label);
  expect(mesh.top[0]?.label).toBe(sample.name);
  expect(maxAbsDiff(mesh.logits, alone.logits)).toBeLessThan(1e-4);
});
