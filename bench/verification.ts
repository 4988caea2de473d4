/**
 * Detection rate against checking budget (npm run bench:verify): Node only, the in-memory mesh with
 * real WorkerExecutors, seeded. Owner + 3 workers run the same image many times; worker w2 lies
 * (every result, or each result with chance 1/5, moved by 0.5 + 10%). For each checking fraction
 * it reports how often the liar is caught within one image, within k images (fresh draws each
 * image, so 1 − (1 − p)^k), how often a wrong answer got through, and the owner's extra FLOPs.
 *
 *   npm run bench:verify [-- --trials N] [--out bench/results/verification.md]
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { IncomingMessage, WireTensor } from '../src/mesh/index.ts';
import { createRng } from '../src/model/index.ts';
import { planInference, type DeviceProfile, type Plan, type PlannerOptions } from '../src/partition/index.ts';
import { executeWhole, OwnerRuntime, RuntimeMethod, resolveZooModel, seededRandom, type ModelSpec, type WorkerPort } from '../src/runtime/index.ts';
import { testMesh } from '../src/runtime/test-mesh.ts';
import { machineStamp, stampMarkdown } from './machine.ts';

const FRACTIONS = [0.02, 0.05, 0.1, 0.25, 0.5, 1];
const LIES: { label: string; chance: number }[] = [
  { label: 'every result', chance: 1 },
  { label: '1 result in 5', chance: 0.2 },
];
const K = [1, 5, 10, 20];
/** The product's per-image budget (ClassifyOptions.verify), and the one that lets every check run. */
const BUDGETS = [0.1, 1];

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const TRIALS = Number(arg('--trials') ?? 100);
const OUT = arg('--out') ?? 'bench/results/verification.md';

const spec: Extract<ModelSpec, { kind: 'zoo' }> = { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } };
const phone = (id: string): DeviceProfile => ({ id, aMsPerFlop: 1e-4, bMs: 0.5, bandwidthBytesPerMs: 100_000, wakeMs: 1, memoryBytes: 1e9 });
const PLANS: { label: string; options: PlannerOptions }[] = [
  { label: 'BODP per layer + MSCC/FGCP', options: { spatialSchemes: ['bodp'], fcSchemes: ['msccFgcp'], allowOwnerOnly: false, excludeDevices: false } },
  { label: 'fused blocks + output split', options: { spatialSchemes: ['fused'], fcSchemes: ['outputSplit'], allowOwnerOnly: false, excludeDevices: false } },
];

interface Cell {
  plan: string;
  lie: string;
  fraction: number;
  budget: number;
  trials: number;
  caught: number;
  wrongAnswers: number;
  /** Mean over images: check FLOPs / image FLOPs, results checked, results the liar returned. */
  extraFlops: number;
  checked: number;
  liarResults: number;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const model = await resolveZooModel(spec);
  const ids = ['w1', 'w2', 'w3'];
  const image = tf.randomUniform<tf.Rank.R3>([32, 32, 3], 0, 1, 'float32', 7);
  const aloneTensor = executeWhole(tf, model.graph, model.weights, image);
  const alone = (await aloneTensor.data()) as Float32Array;
  aloneTensor.dispose();
  const cells: Cell[] = [];
  const started = performance.now();
  for (const { label, options } of PLANS) {
    const plan: Plan = planInference(model.graph, ['owner', ...ids].map(phone), { ...options, fcWeights: model.weights.sparse });
    const mesh = testMesh(tf, ids);
    let lieChance = 1;
    let liarResults = 0;
    const lieRng = createRng(12345);
    const ports = new Map<string, WorkerPort>(
      ids.map((id) => [
        id,
        {
          id,
          request: async (meta, tensors, requestOptions): Promise<IncomingMessage> => {
            const reply = await mesh.request(id, meta, tensors, requestOptions);
            const method = (meta as { method?: string }).method;
            if (id !== 'w2' || (method !== RuntimeMethod.Spatial && method !== RuntimeMethod.Fc)) return reply;
            liarResults++;
            if (lieRng.next() >= lieChance) return reply;
            return { ...reply, tensors: reply.tensors.map((t: WireTensor) => (t.dtype === 'float32' ? { ...t, data: Float32Array.from(t.data, (v) => v * 1.1 + 0.5) } : t)) };
          },
        },
      ]),
    );
    const runtime = new OwnerRuntime({ tf, spec, model });
    await runtime.prepare(plan, ports);
    for (const lie of LIES) {
      lieChance = lie.chance;
      for (const budget of BUDGETS) {
        for (const fraction of FRACTIONS) {
          const cell: Cell = { plan: label, lie: lie.label, fraction, budget, trials: TRIALS, caught: 0, wrongAnswers: 0, extraFlops: 0, checked: 0, liarResults: 0 };
          const random = seededRandom(Math.round(fraction * 1000) * 7 + budget * 13 + lie.chance * 101);
          for (let t = 0; t < TRIALS; t++) {
            liarResults = 0;
            const result = await runtime.infer(plan, ports, image, { verify: { fraction, budget, random } });
            if (result.wrong.some((w) => w.deviceId === 'w2')) cell.caught++;
            let diff = 0;
            result.output.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - (alone[i] as number)))));
            if (diff > 1e-3) cell.wrongAnswers++;
            cell.extraFlops += result.verification.flops / result.verification.imageFlops / TRIALS;
            cell.checked += result.verification.checked / TRIALS;
            cell.liarResults += liarResults / TRIALS;
          }
          cells.push(cell);
          console.log(`${label} | lies ${lie.label} | budget ${budget} | fraction ${fraction}: caught ${cell.caught}/${TRIALS}, wrong answers ${cell.wrongAnswers}, extra FLOPs ${(100 * cell.extraFlops).toFixed(1)}%`);
        }
      }
    }
  }
  image.dispose();
  const minutes = (performance.now() - started) / 60_000;
  writeFileSync(OUT, report(cells, minutes));
  console.log(`wrote ${OUT}`);
}

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;

function report(cells: Cell[], minutes: number): string {
  const lines = [
    '# Result verification: detection rate against checking budget',
    '',
    `\`npm run bench:verify\` (bench/verification.ts), ${TRIALS} images per row, ${minutes.toFixed(1)} min. ${stampMarkdown(machineStamp())}`,
    '',
    'Owner + 3 workers on the in-memory mesh (real WorkerExecutors, TF.js CPU backend), VGG-16 at 32×32 and 1/16 width, the same image every time. ' +
      'Worker w2 lies: it moves every value of a result by 0.5 + 10%, on every result or on each result with chance 1/5. ' +
      'The owner checks each worker result with chance *fraction*, within a per-image cap of *budget* × the image’s FLOPs (0.1 is the product default; 1 lets every drawn check run). ' +
      '*Caught in 1 image* is measured; *in k images* is 1 − (1 − p)^k, exact here because every image draws afresh (crypto randomness in the product, a seed here) and a caught worker is removed for good. ' +
      '*Wrong answers* counts images whose output differs from the owner alone by more than 1e-3: a liar not caught on that image but whose lie went in unchecked (once caught, the image is re-run without it and is right). ' +
      '*Liar results / image* falls as checks rise because a caught worker gets no more work in that image. *Extra FLOPs* is what the owner spent on checks, as a share of the image (every drawn check is of a whole result: with fraction 100% and budget 1 the owner recomputes everything the workers did). Spot checks are probabilistic: on an image where the liar is not caught, its unchecked lies stay in the answer; the product’s defaults (10%, budget 0.1) catch a worker that always lies within its first image about 4 times in 5.',
    '',
  ];
  for (const plan of [...new Set(cells.map((c) => c.plan))]) {
    lines.push(`## ${plan}`, '');
    lines.push(`| liar lies on | budget | fraction | results checked / image | liar results / image | caught in 1 image | ${K.slice(1).map((k) => `in ${k}`).join(' | ')} | wrong answers | extra owner FLOPs |`);
    lines.push(`|---|---|---|---|---|---|${K.slice(1).map(() => '---|').join('')}---|---|`);
    for (const c of cells.filter((x) => x.plan === plan)) {
      const p = c.caught / c.trials;
      lines.push(`| ${c.lie} | ${c.budget} | ${pct(c.fraction)} | ${c.checked.toFixed(1)} | ${c.liarResults.toFixed(1)} | ${pct(p)} | ${K.slice(1).map((k) => pct(1 - (1 - p) ** k)).join(' | ')} | ${c.wrongAnswers}/${c.trials} | ${pct(c.extraFlops)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

await main();
