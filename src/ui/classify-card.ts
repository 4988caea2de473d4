/**
 * The owner's main card: an image in (drop, paste, pick, camera), what the model will see, and
 * the answer: top-5 with bars, the measured latency beside this device alone, the speed-up, bytes
 * moved, the planner's choice in words, and the image's timeline across devices.
 */
import type { Scheme } from '../runtime/index.ts';
import { h } from './dom.ts';
import { formatMs } from './format.ts';
import { createImageInput, decodeImage, drawModelInput } from './image-input.ts';
import type { ClassifySummary, ModelRunner } from './model-runner.ts';
import { describeChecks, describeExposure, describePlan } from './plan-words.ts';
import { renderTimeline } from './timeline.ts';

export interface ClassifyCardOptions {
  runner: ModelRunner;
  scheme: () => Scheme;
  workersReady: () => number;
  /** A readable label for a device id in the timeline ('owner' for this device). */
  deviceLabel: (deviceId: string) => string;
  /** Called after each answer (the peer table shows each worker's share of it). */
  onResult: (summary: ClassifySummary) => void;
}

export function createClassifyCard(options: ClassifyCardOptions): { element: HTMLElement; classifyFile: (file: File) => Promise<void> } {
  const { runner } = options;
  const preview = h('div', { class: 'preview', 'data-field': 'preview', hidden: true });
  const error = h('p', { class: 'banner error', role: 'alert', 'data-field': 'image-error', hidden: true });
  const status = h('p', { class: 'muted', role: 'status', 'data-field': 'classify-status' });
  const result = h('div', { class: 'result', 'data-field': 'result', 'aria-live': 'polite' });
  const timeline = h('div', { class: 'timeline-host', 'data-field': 'timeline' });
  let busy = false;
  let next: File | null = null;

  async function classifyFile(file: File): Promise<void> {
    if (busy) {
      next = file; // only the latest waiting image matters
      status.textContent = 'Next image queued…';
      return;
    }
    busy = true;
    try {
      error.hidden = true;
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
      showResult(summary);
      options.onResult(summary);
      status.textContent = '';
    } catch (err) {
      error.hidden = false;
      error.textContent = (err as Error).message.replace(/^modnn-web: /, '');
      status.textContent = result.childElementCount > 0 ? 'The last answer is still shown below.' : '';
    } finally {
      busy = false;
      const queued = next;
      next = null;
      if (queued) void classifyFile(queued);
    }
  }

  function showResult(s: ClassifySummary): void {
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
    const labels = new Map(s.devices.map((id) => [id, options.deviceLabel(id)]));
    for (const f of s.failed) labels.set(f.deviceId, options.deviceLabel(f.deviceId));
    timeline.replaceChildren(renderTimeline({ trace: s.trace, totalMs: s.totalMs, failed: s.failed, labels, baselineMs: s.alone?.ms ?? null }));
  }

  const element = h(
    'section',
    { class: 'card classify', 'aria-labelledby': 'classify-title' },
    h('h2', { id: 'classify-title' }, 'Classify an image'),
    createImageInput({ onFile: (file) => void classifyFile(file) }),
    error,
    preview,
    status,
    result,
    timeline,
  );
  return { element, classifyFile };
}

function ago(ms: number): string {
  if (ms < 1_000) return 'just now';
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}
