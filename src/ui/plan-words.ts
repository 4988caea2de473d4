/** The planner's choice in words a person reads at a glance, from a classification's summary. */
import type { Classification } from '../runtime/index.ts';

export interface PlanFacts {
  scheme: 'auto' | 'bodp' | 'fused' | 'grid' | 'resident' | 'owner';
  /** Plan steps as the classifier describes them (partition's stepLabel), e.g. "resident(4)·f16 fused(3)·i8 msccFgcp owner×2". */
  steps: string;
  devices: readonly string[];
  excluded: readonly { deviceId: string; reason: string }[];
  predictedMs: number;
  ownerAlonePredictedMs: number;
  /** Workers ready in the room when the image was classified. */
  workersReady: number;
}

const STEP_WORDS: [RegExp, string][] = [
  [/\bfused\(/, 'fused blocks'],
  [/\bbodp\(/, 'BODP per layer'],
  [/\bgrid\(/, '2D grid'],
  [/\bresident\(/, 'resident strips (workers swap halos directly)'],
  [/\bmsccFgcp\b/, 'sparse FC split (MSCC + FGCP)'],
  [/\boutputSplit\b/, 'FC split by outputs'],
];

/** Compact activations on the wire, as stepLabel suffixes them; float32 has no suffix. */
const WIRE_WORDS: [RegExp, string][] = [
  [/·f16\b/, 'float16'],
  [/·i8\b/, '8-bit'],
];

/** "activations sent as float16 and 8-bit", or null when everything went as float32. */
export function describeWire(steps: string): string | null {
  const used = WIRE_WORDS.filter(([re]) => re.test(steps)).map(([, words]) => words);
  return used.length > 0 ? `activations sent as ${used.join(' and ')}` : null;
}

export function describePlan(f: PlanFacts): string {
  const workers = f.devices.length - 1;
  if (workers > 0) {
    const how = STEP_WORDS.filter(([re]) => re.test(f.steps)).map(([, words]) => words);
    const wire = describeWire(f.steps);
    const gain = f.ownerAlonePredictedMs / f.predictedMs;
    const predicted = Number.isFinite(gain) && gain > 0 ? `: predicted ${gain >= 1 ? `${gain.toFixed(1)}× faster` : `${gain.toPrecision(2)}× the speed of this device alone (slower; as you asked for this scheme)`}` : '';
    return `${workers} worker${workers === 1 ? '' : 's'}, ${how.length > 0 ? how.join(' + ') : 'split'}${wire ? `, ${wire}` : ''}${predicted}`;
  }
  if (f.scheme === 'owner') return 'This device alone, as chosen';
  if (f.workersReady === 0) return 'Running alone: no workers have joined yet';
  if (f.excluded.length > 0 && f.excluded.every((e) => /weights need/.test(e.reason))) return 'Running alone: the model does not fit in the workers’ memory';
  return 'Running alone: the mesh would be slower for this model';
}

/** What a plan sends to workers (the classifier's `exposure`), and the privacy setting it ran with. */
/** What left the device, as the classifier reports it. */
export type ExposureFacts = Pick<Classification, 'exposure' | 'privacy'>;

const CAVEAT = 'Feature maps can still reveal something about the image.';

/** What left this device for one image, in plain words. */
export function describeExposure(f: ExposureFacts): string {
  const e = f.exposure;
  if (e === null) return 'Nothing: the image and every layer stayed on this device.';
  if (e.image) return `The image itself: workers receive its pixels (input privacy is ${f.privacy === 'off' ? 'off' : 'on, but this model reads the image past the kept layers'}).`;
  const [h, w, c] = e.shape;
  const maps = c !== undefined && w !== undefined ? `${c}-channel ${h}×${w} feature maps` : `${e.shape.join('×')} feature values`;
  return `Workers receive ${maps} and compute from layer ${e.firstLayer} onward, never the image. ${CAVEAT}`;
}

/** What the privacy setting keeps on this device, before any image is classified. */
export function describePrivacySetting(privacy: ExposureFacts['privacy']): string {
  switch (privacy) {
    case 'off':
      return 'Workers may receive the image itself (the fastest plans split the first layers too).';
    case 'firstLayer':
      return `The first layer runs on this device: workers receive its feature maps, never the image. ${CAVEAT}`;
    case 'firstBlock':
      return `The first block (up to the first pooling) runs on this device: workers receive smaller feature maps, never the image. ${CAVEAT}`;
  }
}

/** The owner's checks of the workers' results for one image. */
export interface CheckFacts {
  verification: { checked: number; results: number; flops: number; imageFlops: number };
  evicted: readonly { deviceId: string; reason: string }[];
}

export function describeChecks(f: CheckFacts): string {
  const { checked, results, flops, imageFlops } = f.verification;
  if (results === 0 && f.evicted.length === 0) return 'No worker results to check';
  const share = imageFlops > 0 ? ` (${Math.round((100 * flops) / imageFlops)}% extra work here)` : '';
  const caught = f.evicted.length === 0 ? ', all right' : `; ${f.evicted.length} worker${f.evicted.length === 1 ? '' : 's'} caught with wrong results and removed, the answer recomputed without ${f.evicted.length === 1 ? 'it' : 'them'}`;
  return `Checked ${checked} of ${results} result${results === 1 ? '' : 's'}${checked > 0 ? share : ''}${caught}`;
}
