import { describe, expect, it } from 'vitest';
import { describeChecks, describeExposure, describePlan, describePrivacySetting, describeWire, type PlanFacts } from './plan-words.ts';

const facts = (over: Partial<PlanFacts>): PlanFacts => ({ scheme: 'auto', steps: 'owner×10', devices: ['owner'], excluded: [], predictedMs: 100, ownerAlonePredictedMs: 100, workersReady: 0, ...over });

describe('describePlan', () => {
  it('names the workers, the schemes used and the predicted gain', () => {
    expect(describePlan(facts({ steps: 'fused(6) fused(4) msccFgcp owner', devices: ['owner', 'a', 'b', 'c'], predictedMs: 100, ownerAlonePredictedMs: 290, workersReady: 3 }))).toBe(
      '3 workers, fused blocks + sparse FC split (MSCC + FGCP): predicted 2.9× faster',
    );
    expect(describePlan(facts({ steps: 'bodp(1) bodp(1)', devices: ['owner', 'a'], predictedMs: 200, ownerAlonePredictedMs: 100, scheme: 'bodp', workersReady: 1 }))).toBe(
      '1 worker, BODP per layer: predicted 0.50× the speed of this device alone (slower; as you asked for this scheme)',
    );
  });

  it('names resident strips and the compact wire formats stepLabel marks', () => {
    expect(describePlan(facts({ steps: 'resident(4)·f16 msccFgcp owner', devices: ['owner', 'a', 'b'], predictedMs: 50, ownerAlonePredictedMs: 100, workersReady: 2 }))).toBe(
      '2 workers, resident strips (workers swap halos directly) + sparse FC split (MSCC + FGCP), activations sent as float16: predicted 2.0× faster',
    );
    expect(describePlan(facts({ steps: 'fused(3)·i8 resident(2)·f16', devices: ['owner', 'a'], predictedMs: 80, ownerAlonePredictedMs: 100, workersReady: 1 }))).toBe(
      '1 worker, fused blocks + resident strips (workers swap halos directly), activations sent as float16 and 8-bit: predicted 1.3× faster',
    );
    expect(describeWire('fused(3) bodp(1) owner')).toBeNull();
    expect(describeWire('bodp(1)·i8')).toBe('activations sent as 8-bit');
  });

  it('says why it runs alone', () => {
    expect(describePlan(facts({}))).toBe('Running alone: no workers have joined yet');
    expect(describePlan(facts({ workersReady: 2, excluded: [{ deviceId: 'a', reason: 'predicted 5 ms with it, 4 ms without' }] }))).toBe('Running alone: the mesh would be slower for this model');
    expect(describePlan(facts({ workersReady: 1, excluded: [{ deviceId: 'a', reason: 'this model’s weights need 60 MB; …' }] }))).toBe('Running alone: the model does not fit in the workers’ memory');
    expect(describePlan(facts({ scheme: 'owner', workersReady: 2 }))).toBe('This device alone, as chosen');
  });
});

describe('describeExposure', () => {
  it('says what left the device: nothing, the image, or feature maps from a named layer with the caveat', () => {
    expect(describeExposure({ exposure: null, privacy: 'off' })).toBe('Nothing: the image and every layer stayed on this device.');
    expect(describeExposure({ exposure: { firstLayer: 'block1_conv1', sentLayer: 'input', shape: [32, 32, 3], image: true }, privacy: 'off' })).toBe('The image itself: workers receive its pixels (input privacy is off).');
    expect(describeExposure({ exposure: { firstLayer: 'block1_conv2', sentLayer: 'block1_conv1', shape: [224, 224, 64], image: false }, privacy: 'firstLayer' })).toBe(
      'Workers receive 64-channel 224×224 feature maps and compute from layer block1_conv2 onward, never the image. Feature maps can still reveal something about the image.',
    );
  });

  it('describes each privacy setting, the kept ones with the caveat', () => {
    expect(describePrivacySetting('off')).toMatch(/may receive the image itself/);
    for (const p of ['firstLayer', 'firstBlock'] as const) expect(describePrivacySetting(p)).toMatch(/never the image\. Feature maps can still reveal something/);
  });
});

describe('describeChecks', () => {
  it('counts the checked results and the extra work, and names an eviction', () => {
    expect(describeChecks({ verification: { checked: 2, results: 12, flops: 5e6, imageFlops: 1e8 }, evicted: [] })).toBe('Checked 2 of 12 results (5% extra work here), all right');
    expect(describeChecks({ verification: { checked: 0, results: 0, flops: 0, imageFlops: 1e8 }, evicted: [] })).toBe('No worker results to check');
    expect(describeChecks({ verification: { checked: 9, results: 9, flops: 4e7, imageFlops: 1e8 }, evicted: [{ deviceId: 'x', reason: 'returned wrong results' }] })).toBe(
      'Checked 9 of 9 results (40% extra work here); 1 worker caught with wrong results and removed, the answer recomputed without it',
    );
  });
});
