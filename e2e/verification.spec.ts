/**
 * Result verification in real pages over real WebRTC: owner + 2 honest workers + 1 worker whose
 * page changes numbers inside the tensors it sends back (no product backdoor: its
 * RTCDataChannel.send is wrapped before the app loads). With every result checked the liar is
 * caught, removed with the reason on its row, and the answer equals the owner alone. Then the
 * answer card, with input privacy on, says what was checked and what left the device.
 */
import { expect, joinWorker, openRoom, test } from './fixtures.ts';
import { fashionSamples, maxAbsDiff, photoOf, type FashionSample } from './images.ts';

interface Summary {
  top: { index: number; label: string }[];
  logits: number[];
  devices: string[];
  evicted: { deviceId: string; reason: string }[];
  verification: { checked: number; results: number };
}
type Api = { classify(r: unknown): Promise<Summary> };

/**
 * Runs in the liar's page before the app: a response frame (kind 8) whose first tensor is float32
 * gets its last float (the last 4 bytes of the message's last chunk) moved by 100. Header and
 * descriptors are untouched, so the message still parses; only a number is wrong. Layout:
 * src/mesh/wire/frame.ts (24-byte header) and message.ts (body).
 */
function lieInTensors(): void {
  const HEADER = 24;
  const floatMessages = new Set<number>();
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the channel as `this` below
  const send = RTCDataChannel.prototype.send;
  const bytesOf = (data: unknown): Uint8Array | null =>
    data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
  RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: Parameters<RTCDataChannel['send']>[0]) {
    const bytes = bytesOf(data);
    if (bytes && bytes.byteLength > HEADER + 8 && bytes[1] === 8) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const messageId = view.getUint32(4, true);
      const chunkIndex = view.getUint32(16, true);
      const chunkCount = view.getUint32(20, true);
      if (chunkIndex === 0) {
        const metaBytes = view.getUint32(HEADER, true);
        const countAt = HEADER + 4 + ((metaBytes + 3) & ~3);
        if (countAt + 5 <= bytes.byteLength && view.getUint32(countAt, true) > 0 && view.getUint8(countAt + 4) === 1) floatMessages.add(messageId);
      }
      if (chunkIndex === chunkCount - 1 && floatMessages.delete(messageId)) {
        const copy = bytes.slice();
        const at = copy.byteLength - 4;
        const copyView = new DataView(copy.buffer);
        copyView.setFloat32(at, copyView.getFloat32(at, true) + 100, true);
        send.call(this, copy);
        return;
      }
    }
    send.call(this, data as never);
  } as RTCDataChannel['send'];
}

test('a worker that perturbs its results is caught with every result checked, removed with the reason, and the answer equals the owner alone; the card reports checks and what left the device', async ({ newDevice, baseUrl }) => {
  const { owner } = await openRoom(newDevice, baseUrl, 2);
  await joinWorker(newDevice, owner, await owner.locator('input.join-link').inputValue(), { label: 'liar', initScript: lieInTensors });
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(3);

  const run = (request: Record<string, unknown>) => owner.evaluate((r) => (window as unknown as { modnn: Api }).modnn.classify(r), request);
  const alone = await run({ model: 'clothing', seed: 3, scheme: 'owner' });
  const mesh = await run({ model: 'clothing', seed: 3, scheme: 'fused', verify: { fraction: 1, budget: 1 } });

  expect(mesh.evicted).toHaveLength(1);
  const [evicted] = mesh.evicted;
  expect(evicted?.reason).toMatch(/^returned wrong results for a checked (tile|FC share) \(max \|Δ\| [\d.e+]+ vs tolerance [\d.e+-]+\)$/);
  expect(mesh.verification.checked).toBe(mesh.verification.results);
  expect(mesh.top[0]?.index).toBe(alone.top[0]?.index);
  expect(maxAbsDiff(mesh.logits, alone.logits)).toBeLessThan(1e-4);
  // The liar's row says why it is gone; the honest two stay.
  await expect(owner.locator(`tr.peer[data-peer="${evicted?.deviceId}"] .reason`)).toContainText('returned wrong results for a checked');
  await expect(owner.locator('tr.peer[data-state="ready"]')).toHaveCount(2);

  // The next image: every result checked, the first layer kept here, through the page's own controls.
  await owner.locator('[data-field="privacy"]').selectOption('firstLayer');
  await expect(owner.locator('[data-field="privacy-note"]')).toContainText('never the image');
  await owner.locator('[data-field="check-setting"]').selectOption('1');
  await owner.locator('[data-field="scheme"]').selectOption('fused');
  const sample = (await fashionSamples())[0] as FashionSample;
  await owner.locator('[data-field="image-file"]').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: await photoOf(owner, sample) });
  await expect(owner.locator('[data-field="answer"]')).toContainText(sample.name, { timeout: 60_000 });
  await expect(owner.locator('[data-field="checks"]')).toHaveText(/^Checked (\d+) of \1 results \(\d+% extra work here\), all right$/);
  await expect(owner.locator('[data-field="exposure"]')).toContainText(/Workers receive \d+-channel \d+×\d+ feature maps and compute from layer \S+ onward, never the image/);
});
