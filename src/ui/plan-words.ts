/** The planner's choice in words a person reads at a glance, from a classification's summary. */

export interface PlanFacts {
  scheme: 'auto' | 'bodp' | 'fused' | 'grid' | 'owner';
  /** Plan steps as the classifier describes them, e.g. "fused(6) fused(4) msccFgcp owner×2". */
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
  [/\bmsccFgcp\b/, 'sparse FC split (MSCC + FGCP)'],
  [/\boutputSplit\b/, 'FC split by outputs'],
];

export function describePlan(f: PlanFacts): string {
  const workers = f.devices.length - 1;
  if (workers > 0) {
    const how = STEP_WORDS.filter(([re]) => re.test(f.steps)).map(([, words]) => words);
    const gain = f.ownerAlonePredictedMs / f.predictedMs;
    const predicted = Number.isFinite(gain) && gain > 0 ? `: predicted ${gain >= 1 ? `${gain.toFixed(1)}× faster` : `${gain.toPrecision(2)}× the speed of this device alone (slower; as you asked for this scheme)`}` : '';
    return `${workers} worker${workers === 1 ? '' : 's'}, ${how.length > 0 ? how.join(' + ') : 'split'}${predicted}`;
  }
  if (f.scheme === 'owner') return 'This device alone, as chosen';
  if (f.workersReady === 0) return 'Running alone: no workers have joined yet';
  if (f.excluded.length > 0 && f.excluded.every((e) => /weights need/.test(e.reason))) return 'Running alone: the model does not fit in the workers’ memory';
  return 'Running alone: the mesh would be slower for this model';
}
