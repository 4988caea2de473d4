/**
 * The owner's main card: an image in (drop, paste, pick, camera), what the model will see, and
 * the answer: top-5 with bars, the measured latency beside this device alone, the speed-up, bytes
 * moved, the planner's choice in words, and the image's timeline across devices.
 * Several images (files or a folder) run as a batch with some in flight at once: a progress bar,
 * each image's top-1, throughput beside the per-image latency, and a cancel button.
 */
import { median, type BatchSummary, type Scheme } from '../runtime/index.ts';
import { h } from './dom.ts';
import { formatMs } from './format.ts';
import { createImageInput, decodeImage, displayName, drawModelInput, notAnImage } from './image-input.ts';
import type { ClassifySummary, ModelRunner } from './model-runner.ts';
import { describeChecks, describeExposure, describePlan } from './plan-words.ts';
import { renderTimeline } from './timeline.ts';

/** Images under way at once in a batch: enough for one image's transfers to overlap another's computing. */
const BATCH_IN_FLIGHT = 2;

export interface ClassifyCardOptions {
  runner: ModelRunner;
  scheme: () => Scheme;
  workersReady: () => number;
  /** A readable label for a device id in the timeline ('owner' for this device). */
  deviceLabel: (deviceId: string) => string;
  /** Called after each answer (the peer table shows each worker's share of it). */
  onResult: (summary: ClassifySummary) => void;
}

export function createClassifyCard(options: ClassifyCardOptions): { element: HTMLElement; classifyFile: (file: File) => Promise<void>; classifyFiles: (files: File[]) => Promise<void> } {
  const { runner } = options;
  const preview = h('div', { class: 'preview', 'data-field': 'preview', hidden: true });
  const error = h('p', { class: 'banner error', role: 'alert', 'data-field': 'image-error', hidden: true });
  const skipped = h('ul', { class: 'skipped', 'data-field': 'skipped', hidden: true, 'aria-label': 'Files skipped' });
  const status = h('p', { class: 'muted', role: 'status', 'data-field': 'classify-status' });
  const result = h('div', { class: 'result', 'data-field': 'result', 'aria-live': 'polite' });
  const batch = h('div', { class: 'batch', 'data-field': 'batch', hidden: true });
  const timeline = h('div', { class: 'timeline-host', 'data-field': 'timeline' });
  let busy = false;
  let next: File[] | null = null;

  /** One selection (a file, several, a folder); a new one while busy waits, and only the latest waiting one matters. */
  async function classifyFiles(files: File[]): Promise<void> {
    if (files.length === 0) return;
    if (busy) {
      next = files;
      status.textContent = files.length === 1 ? 'Next image queued…' : `Next ${files.length} files queued…`;
      return;
    }
    busy = true;
    try {
      error.hidden = true;
      skipped.hidden = true;
      skipped.replaceChildren();
      if (files.length === 1) {
        await classifyOne(files[0] as File);
        return;
      }
      status.textContent = `Checking ${files.length} files…`;
      const reasons = await Promise.all(files.map((f) => notAnImage(f)));
      const images = files.filter((_, i) => reasons[i] === null);
      const notImages = reasons.filter((r): r is string => r !== null);
      skipped.hidden = notImages.length === 0;
      skipped.replaceChildren(...notImages.map((why) => h('li', { class: 'muted warn' }, why)));
      if (images.length === 0) throw new Error(`None of the ${files.length} files is an image this page can read. Choose photos: JPEG, PNG, WebP, GIF or BMP.`);
      if (images.length === 1) await classifyOne(images[0] as File);
      else await runBatch(images);
    } catch (err) {
      error.hidden = false;
      error.textContent = (err as Error).message.replace(/^modnn-web: /, '');
      status.textContent = result.childElementCount > 0 || !batch.hidden ? 'The last answer is still shown below.' : '';
    } finally {
      busy = false;
      const queued = next;
      next = null;
      if (queued) void classifyFiles(queued);
    }
  }

  const classifyFile = (file: File): Promise<void> => classifyFiles([file]);

  async function classifyOne(file: File): Promise<void> {
    status.textContent = `Reading ${file.name || 'the image'}…`;
    const decoded = await decodeImage(file);
    const input = await runner.prepareImage(decoded.pixels);
    const shrunk = decoded.originalWidth > decoded.pixels.width;
    preview.hidden = false;
    preview.replaceChildren(
      h('figure', {}, decoded.canvas, h('figcaption', {}, `${decoded.name}: ${decoded.originalWidth}×${decoded.originalHeight}${shrunk ? `, read at ${decoded.pixels.width}×${decoded.pixels.height}` : ''}`)),
      h(
        'figure',
        {},
        drawModelInput(input.values, input.shape),
        h('figcaption', {}, `What the model sees: ${input.shape[1]}×${input.shape[0]} ${input.shape[2] === 1 ? 'grayscale' : 'colour'}, centre-cropped${input.inverted ? ', inverted (light background)' : ''}`),
      ),
    );
    status.textContent = options.workersReady() > 0 ? 'Classifying across the mesh…' : 'Classifying…';
    const summary = await runner.classify({ values: Array.from(input.values), scheme: options.scheme(), compareAlone: true });
    batch.hidden = true;
    showResult(summary);
    options.onResult(summary);
    status.textContent = '';
  }

  async function runBatch(images: File[]): Promise<void> {
    const total = images.length;
    const model = runner.selected;
    const controller = new AbortController();
    const progress = h('progress', { 'data-field': 'batch-progress', max: String(total), value: '0', 'aria-label': 'Images classified' });
    const count = h('span', { 'data-field': 'batch-count' });
    const throughput = h('dd', { 'data-field': 'batch-throughput' }, '–');
    const latency = h('dd', { 'data-field': 'batch-latency' }, '–');
    const inFlightText = h('dd', { 'data-field': 'batch-in-flight' }, '–');
    const cancel = h('button', { type: 'button', class: 'secondary', 'data-field': 'batch-cancel' }, 'Cancel');
    const rows = images.map((file, index) =>
      h('li', { 'data-index': String(index), 'data-state': 'waiting' }, h('span', { class: 'batch-name' }, displayName(file)), h('span', { class: 'batch-answer', 'data-field': 'batch-answer' }, 'waiting')),
    );
    const list = h('ol', { class: 'batch-list', 'data-field': 'batch-list', 'aria-label': 'Each image’s answer' }, ...rows);
    batch.hidden = false;
    batch.replaceChildren(
      h('div', { class: 'progress-row' }, progress, count, cancel),
      h('dl', { class: 'metrics' }, h('dt', {}, 'Throughput'), throughput, h('dt', {}, 'Per image (median)'), latency, h('dt', {}, 'In flight'), inFlightText),
      list,
    );
    result.replaceChildren();
    preview.hidden = true;
    timeline.replaceChildren();

    const latencies: number[] = [];
    const startedAt: number[] = [];
    let done = 0;
    let failed = 0;
    const started = performance.now();
    const show = (summary: BatchSummary | null) => {
      progress.value = done + failed;
      count.textContent = `${done + failed} of ${total}${failed > 0 ? ` · ${failed} failed` : ''}`;
      const seconds = (performance.now() - started) / 1000;
      const perSecond = summary ? summary.imagesPerSecond : seconds > 0 ? done / seconds : 0;
      const perImage = summary ? summary.medianLatencyMs : median(latencies);
      throughput.textContent = done > 0 ? `${perSecond.toFixed(perSecond < 10 ? 2 : 1)} images/s` : '–';
      latency.textContent = done > 0 ? formatMs(perImage) : '–';
      if (summary) inFlightText.textContent = `${summary.inFlight} at once`;
    };
    inFlightText.textContent = `up to ${BATCH_IN_FLIGHT} at once`;
    show(null);
    cancel.addEventListener('click', () => {
      controller.abort();
      cancel.disabled = true;
      status.textContent = 'Cancelling: images already under way finish first…';
    });
    status.textContent = options.workersReady() > 0 ? `Classifying ${total} images across the mesh…` : `Classifying ${total} images…`;
    let summary: BatchSummary | null = null;
    try {
      summary = await runner.classifyMany({
        model,
        scheme: options.scheme(),
        signal: controller.signal,
        inFlight: BATCH_IN_FLIGHT,
        images: images.map((file, index) => async () => {
          startedAt[index] = performance.now();
          const row = rows[index];
          row?.setAttribute('data-state', 'running');
          row?.querySelector('.batch-answer')?.replaceChildren('classifying…');
          const decoded = await decodeImage(file, displayName(file));
          return (await runner.prepareImage(decoded.pixels, model)).values;
        }),
        onImage: (index, outcome) => {
          const row = rows[index];
          const answer = row?.querySelector('.batch-answer');
          if (outcome.ok) {
            done++;
            // From the image's start (decoding included) to its answer, as the batch summary counts it.
            latencies.push(performance.now() - (startedAt[index] ?? started));
            const best = outcome.summary.top[0];
            row?.setAttribute('data-state', 'ok');
            answer?.replaceChildren(best ? `${best.label} ${(best.probability * 100).toFixed(1)}%` : '–');
            showResult(outcome.summary, { timelineOnly: true, caption: `Timeline of ${displayName(images[index] as File)}` });
            options.onResult(outcome.summary);
          } else {
            failed++;
            row?.setAttribute('data-state', 'failed');
            answer?.replaceChildren(outcome.error);
          }
          show(null);
        },
      });
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
    cancel.hidden = true;
    for (const row of rows) {
      if (row.dataset['state'] === 'waiting' || row.dataset['state'] === 'running') {
        row.setAttribute('data-state', 'cancelled');
        row.querySelector('.batch-answer')?.replaceChildren('cancelled');
      }
    }
    show(summary);
    const finished = `${done} of ${total} classified${failed > 0 ? `, ${failed} failed` : ''}`;
    status.textContent = controller.signal.aborted ? `Cancelled: ${finished}.` : `Done: ${finished}${summary ? ` in ${formatMs(summary.totalMs)}` : ''}.`;
  }

  function showResult(s: ClassifySummary, batchImage?: { timelineOnly: true; caption: string }): void {
    const labels = new Map(s.devices.map((id) => [id, options.deviceLabel(id)]));
    for (const f of s.failed) labels.set(f.deviceId, options.deviceLabel(f.deviceId));
    const chart = renderTimeline({ trace: s.trace, totalMs: s.totalMs, failed: s.failed, labels, baselineMs: s.alone?.ms ?? null });
    if (batchImage) {
      timeline.replaceChildren(h('p', { class: 'muted', 'data-field': 'timeline-caption' }, batchImage.caption), chart);
      return;
    }
    timeline.replaceChildren(chart);
    const best = s.top[0];
    const speedUp = s.alone && s.devices.length > 1 ? s.alone.ms / s.totalMs : null;
    result.replaceChildren(
      h('p', { class: 'answer', 'data-field': 'answer' }, best ? `${best.label}` : '–', best ? h('span', { class: 'muted' }, ` ${(best.probability * 100).toFixed(1)}%`) : null),
      h(
        'ol',
        { class: 'top5', 'data-field': 'top5', 'aria-label': 'Top 5 classes' },
        ...s.top.map((t) =>
          h(
            'li',
            {},
            h('span', { class: 'label' }, t.label),
            h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { style: `width:${Math.max(0.5, t.probability * 100).toFixed(1)}%` })),
            h('span', { class: 'pct' }, `${(t.probability * 100).toFixed(1)}%`),
          ),
        ),
      ),
      h(
        'dl',
        { class: 'metrics', 'data-field': 'metrics' },
        h('dt', {}, 'Latency'),
        h('dd', { 'data-field': 'latency' }, `${formatMs(s.totalMs)} on ${s.devices.length} device${s.devices.length === 1 ? '' : 's'}`),
        h('dt', {}, 'This device alone'),
        h('dd', { 'data-field': 'alone' }, s.alone ? `${formatMs(s.alone.ms)} (measured ${ago(s.alone.ageMs)})` : '–'),
        h('dt', {}, 'Speed-up'),
        h('dd', { 'data-field': 'speed-up' }, speedUp === null ? (s.devices.length > 1 ? '–' : '1× (alone)') : `${speedUp.toFixed(2)}× ${speedUp >= 1 ? 'faster' : 'slower'}`),
        h('dt', {}, 'Moved'),
        h('dd', { 'data-field': 'bytes' }, s.messages > 0 ? `${(s.bytesMoved / 1e6).toFixed(2)} MB in ${s.messages} messages` : 'nothing (all on this device)'),
        h('dt', {}, 'Plan'),
        h('dd', { 'data-field': 'plan' }, describePlan({ ...s, workersReady: options.workersReady() })),
        h('dt', {}, 'Left this device'),
        h('dd', { 'data-field': 'exposure' }, describeExposure(s)),
        h('dt', {}, 'Checks'),
        h('dd', { 'data-field': 'checks' }, describeChecks(s)),
      ),
      ...s.evicted.map((e) => h('p', { class: 'banner error', 'data-field': 'evicted' }, `Removed ${options.deviceLabel(e.deviceId)}: it ${e.reason}. Its work on this image was recomputed without it.`)),
      ...s.excluded.map((e) => h('p', { class: 'muted', 'data-field': 'excluded' }, `Left out ${options.deviceLabel(e.deviceId)}: ${e.reason}`)),
      ...s.failed.filter((f) => !s.evicted.some((e) => e.deviceId === f.deviceId)).map((f) => h('p', { class: 'muted warn', 'data-field': 'recovered' }, `Recovered from ${options.deviceLabel(f.deviceId)}: ${f.reason}; its share was computed again.`)),
    );
  }

  const element = h(
    'section',
    { class: 'card classify', 'aria-labelledby': 'classify-title' },
    h('h2', { id: 'classify-title' }, 'Classify an image'),
    createImageInput({ onFiles: (files) => void classifyFiles(files) }),
    error,
    skipped,
    preview,
    status,
    result,
    batch,
    timeline,
  );
  return { element, classifyFile, classifyFiles };
}

function ago(ms: number): string {
  if (ms < 1_000) return 'just now';
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}
