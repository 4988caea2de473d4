import { describe, expect, it } from 'vitest';
import { describePlan, type PlanFacts } from './plan-words.ts';

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

  it('says why it runs alone', () => {
    expect(describePlan(facts({}))).toBe('Running alone: no workers have joined yet');
    expect(describePlan(facts({ workersReady: 2, excluded: [{ deviceId: 'a', reason: 'predicted 5 ms with it, 4 ms without' }] }))).toBe('Running alone: the mesh would be slower for this model');
    expect(describePlan(facts({ workersReady: 1, excluded: [{ deviceId: 'a', reason: 'this model’s weights need 60 MB; …' }] }))).toBe('Running alone: the model does not fit in the workers’ memory');
    expect(describePlan(facts({ scheme: 'owner', workersReady: 2 }))).toBe('This device alone, as chosen');
  });
});
