/**
 * Model and run settings: a built-in model or your own (model.json + weights dropped or picked),
 * the partition scheme, input privacy (what leaves this device), how activations travel between
 * devices, how often workers' results are checked, the TF.js backend, and progress for anything slow (model load, weights going to
 * workers, profiling).
 */
import { BACKEND_NAMES } from '../compute/index.ts';
import { SCHEMES, type Scheme } from '../runtime/index.ts';
import { h } from './dom.ts';
import type { ModelRunner, RunSettings } from './model-runner.ts';
import { describePrivacySetting } from './plan-words.ts';

const SCHEME_WORDS: Record<Scheme, string> = {
  auto: 'automatic (planner decides)',
  bodp: 'BODP per layer (the paper)',
  fused: 'fused blocks',
  grid: '2D grid',
  resident: 'Resident strips (workers swap halos directly)',
  owner: 'this device alone',
};
const WIRE_WORDS: Record<RunSettings['wire'], string> = { float32: 'float32 (exact)', auto: 'automatic (float16 where transfers dominate)', float16: 'float16', int8: '8-bit' };
const WIRE_NOTE = 'Fewer bytes a value mean faster transfers on a slow link; float16 and 8-bit round the activations, so an answer can differ slightly from this device alone.';
const PRIVACY_WORDS: Record<RunSettings['privacy'], string> = { off: 'off (fastest)', firstLayer: 'keep the first layer here', firstBlock: 'keep the first block here' };
/** Check choices: '' is the classifier's default. */
const CHECK_WORDS: [string, string][] = [['', 'about 1 in 10 (default)'], ['0.25', '1 in 4'], ['1', 'every result (slowest)'], ['0', 'never']];

export function createSettingsCard(runner: ModelRunner, backendInUse: Promise<{ name: string }>): { element: HTMLElement; scheme: () => Scheme } {
  const modelSelect = h('select', { id: 'model-select', 'data-field': 'model' });
  const note = h('p', { class: 'muted', 'data-field': 'model-note' });
  const schemeSelect = h('select', { id: 'scheme-select', 'data-field': 'scheme' }, ...SCHEMES.map((s) => h('option', { value: s }, SCHEME_WORDS[s])));
  const backendSelect = h('select', { id: 'backend-select', 'data-field': 'backend-override' }, h('option', { value: '' }, 'fastest measured'), ...BACKEND_NAMES.map((b) => h('option', { value: b }, b)));
  const modelFiles = h('input', { type: 'file', multiple: true, accept: '.json,.bin,application/json,application/octet-stream', id: 'model-files', 'data-field': 'model-files' });
  const modelMessage = h('p', { class: 'muted', role: 'status', 'data-field': 'model-message' });
  const progressBar = h('progress', { 'data-field': 'progress', max: '1', hidden: true, 'aria-label': 'Progress' });
  const progressText = h('span', { class: 'muted', 'data-field': 'progress-text' });
  const privacySelect = h('select', { id: 'privacy-select', 'data-field': 'privacy' }, ...Object.entries(PRIVACY_WORDS).map(([value, words]) => h('option', { value }, words)));
  const privacyNote = h('p', { class: 'muted', 'data-field': 'privacy-note' }, describePrivacySetting(runner.settings.privacy));
  privacySelect.value = runner.settings.privacy;
  privacySelect.addEventListener('change', () => {
    runner.settings.privacy = privacySelect.value as RunSettings['privacy'];
    privacyNote.textContent = describePrivacySetting(runner.settings.privacy);
  });
  const wireSelect = h('select', { id: 'wire-select', 'data-field': 'wire' }, ...Object.entries(WIRE_WORDS).map(([value, words]) => h('option', { value }, words)));
  wireSelect.value = runner.settings.wire;
  wireSelect.addEventListener('change', () => (runner.settings.wire = wireSelect.value as RunSettings['wire']));
  const checkSelect = h('select', { id: 'check-select', 'data-field': 'check-setting' }, ...CHECK_WORDS.map(([value, words]) => h('option', { value }, words)));
  checkSelect.addEventListener('change', () => (runner.settings.checkFraction = checkSelect.value === '' ? null : Number(checkSelect.value)));

  const fillModels = () => {
    modelSelect.replaceChildren(...runner.models().map((m) => h('option', { value: m.id }, m.label)));
    modelSelect.value = runner.selected;
    note.textContent = runner.models().find((m) => m.id === runner.selected)?.note ?? '';
  };
  fillModels();
  runner.onChange(fillModels);
  modelSelect.addEventListener('change', () => runner.select(modelSelect.value));

  backendSelect.value = new URLSearchParams(location.search).get('backend') ?? '';
  backendSelect.addEventListener('change', () => {
    // The backend is chosen once per page: reload with it (the room and the workers stay).
    const url = new URL(location.href);
    if (backendSelect.value) url.searchParams.set('backend', backendSelect.value);
    else url.searchParams.delete('backend');
    location.assign(url.toString());
  });
  void backendInUse.then(
    (b) => {
      const fastest = backendSelect.options[0];
      if (fastest && !backendSelect.value) fastest.textContent = `fastest measured (${b.name})`;
    },
    () => {}, // the header shows why there is no backend
  );

  const loadModelFiles = (files: File[]) => {
    if (files.length === 0) return;
    modelMessage.textContent = 'Loading your model…';
    runner.useModelFiles(files).then(
      (id) => {
        runner.select(id);
        modelMessage.textContent = `Loaded ${runner.models().find((m) => m.id === id)?.label ?? id}.`;
      },
      (err: Error) => (modelMessage.textContent = `${err.message.replace(/^modnn-web: /, '')} The previous model stays selected.`),
    );
  };
  modelFiles.addEventListener('change', () => {
    loadModelFiles([...(modelFiles.files ?? [])]);
    modelFiles.value = '';
  });

  runner.onProgress((p) => {
    progressBar.hidden = p === null;
    progressText.textContent = p?.text ?? '';
    if (p?.fraction === null || p === null) progressBar.removeAttribute('value');
    else progressBar.value = p.fraction;
  });

  const modelDrop = h(
    'div',
    { class: 'model-drop', 'data-field': 'model-drop' },
    h('label', { for: 'model-files' }, 'Your own TF.js model: choose or drop model.json with its weight files'),
    modelFiles,
  );
  modelDrop.addEventListener('dragover', (e) => e.preventDefault());
  modelDrop.addEventListener('drop', (e) => {
    e.preventDefault();
    loadModelFiles([...(e.dataTransfer?.files ?? [])]);
  });

  const element = h(
    'section',
    { class: 'card settings', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, 'Model and settings'),
    h('div', { class: 'field' }, h('label', { for: 'model-select' }, 'Model'), modelSelect),
    note,
    h('div', { class: 'field' }, h('label', { for: 'scheme-select' }, 'Split'), schemeSelect),
    h('div', { class: 'field' }, h('label', { for: 'privacy-select' }, 'Input privacy'), privacySelect),
    privacyNote,
    h('div', { class: 'field' }, h('label', { for: 'wire-select' }, 'Activations on the wire'), wireSelect),
    h('p', { class: 'muted' }, WIRE_NOTE),
    h('div', { class: 'field' }, h('label', { for: 'check-select' }, 'Check workers’ results'), checkSelect),
    h('p', { class: 'muted' }, 'This device recomputes a random share of what workers send back; a worker caught with a wrong result is removed and the image recomputed without it.'),
    h('div', { class: 'field' }, h('label', { for: 'backend-select' }, 'Backend on this device'), backendSelect),
    modelDrop,
    modelMessage,
    h('div', { class: 'progress-row' }, progressBar, progressText),
  );
  return { element, scheme: () => schemeSelect.value as Scheme };
}
