/**
 * Stock vs replacement conv filter gradient, per kernel call (the clothing model's conv layers)
 * and per training step; prints a markdown table for bench/results/train-fashion.md.
 *
 *   npx tsx scripts/fashion/bench-conv-grad.ts [batch=32]
 *
 * The stock CPU kernel is slow enough that it runs once per measurement, without warm-up (its
 * cost is all arithmetic); the replacement takes the median of three after a warm-up. WASM has
 * no stock kernel at all, so without the replacement it cannot train a conv net.
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { useConvFilterGradViaConv } from '../../src/compute/index.ts';
import { useConvInputGradViaConv, useUntransposedMatMul } from './fast-kernels.ts';
import { buildModel, DEFAULT_SPEC } from './model.ts';

const batch = Number(process.argv[2] ?? 32);

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function timeMs(reps: number, f: () => void, warmUp = true): number {
  if (warmUp) f(); // kernel setup, XNNPACK operator creation, optimizer variables
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** The clothing model's conv layers as [input shape, filter shape]. */
function convShapes(): [[number, number, number, number], [number, number, number, number], string][] {
  const shapes: [[number, number, number, number], [number, number, number, number], string][] = [];
  let size = 28;
  let channels = 1;
  DEFAULT_SPEC.convBlocks.forEach((block, b) => {
    block.forEach((filters, c) => {
      shapes.push([[batch, size, size, channels], [3, 3, channels, filters], `conv${b + 1}_${c + 1}`]);
      channels = filters;
    });
    size /= 2;
  });
  return shapes;
}

function filterGradCall(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number]): void {
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape };
  const grad = tf.engine().runKernel<tf.Tensor>('Conv2DBackpropFilter', { x, dy }, attrs);
  grad.dataSync();
  grad.dispose();
}

function trainStep(model: tf.LayersModel, optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): void {
  tf.tidy(() => {
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), false);
  });
}

/**
 * The training-only WASM replacements (fast-kernels.ts) against TF.js's stock CPU kernels, on the
 * clothing model's shapes: largest absolute difference of each.
 */
async function checkFastKernels(): Promise<string[]> {
  const cases: [string, () => tf.Tensor][] = [
    ['MatMul Aᵀ·B (Dense kernel gradient)', () => tf.matMul(tf.randomUniform([batch, 1568], -1, 1, 'float32', 4), tf.randomUniform([batch, 512], -1, 1, 'float32', 5), true, false)],
    ['MatMul A·Bᵀ (Dense input gradient)', () => tf.matMul(tf.randomUniform([batch, 512], -1, 1, 'float32', 6), tf.randomUniform([1568, 512], -1, 1, 'float32', 7), false, true)],
    ['Conv2DBackpropInput 3×3 same (conv2_2)', () => tf.conv2dTranspose(
      tf.randomUniform<tf.Rank.R4>([batch, 14, 14, 32], -1, 1, 'float32', 8), tf.randomUniform<tf.Rank.R4>([3, 3, 16, 32], -1, 1, 'float32', 9),
      [batch, 14, 14, 16], 1, 'same')],
  ];
  await tf.setBackend('cpu');
  const expected = cases.map(([, f]) => tf.tidy(() => f().dataSync()));
  await tf.setBackend('wasm');
  await tf.ready();
  const restore = [useUntransposedMatMul('wasm'), useConvInputGradViaConv('wasm')];
  const rows = cases.map(([name, f], i) => {
    const got = tf.tidy(() => f().dataSync());
    const want = expected[i] as ArrayLike<number>;
    let worst = 0;
    got.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - (want[j] as number))); });
    return `| ${name} | ${worst.toExponential(1)} |`;
  });
  // Back to the stock WASM kernels for the timings.
  for (const undo of restore) undo();
  return rows;
}

async function main(): Promise<void> {
  const checks = await checkFastKernels();
  const rows: string[] = [];
  const stockReps = 1;
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    await tf.ready();
    const hasStock = tf.getKernel('Conv2DBackpropFilter', backend) !== undefined;
    for (const [xShape, fShape, name] of convShapes()) {
      const x = tf.randomUniform<tf.Rank.R4>(xShape, 0, 1, 'float32', 1);
      const dy = tf.randomUniform<tf.Rank.R4>([xShape[0], xShape[1], xShape[2], fShape[3]], -1, 1, 'float32', 2);
      const restore = useConvFilterGradViaConv(backend);
      const replaced = timeMs(3, () => filterGradCall(x, dy, fShape)).toFixed(1);
      restore();
      const stock = hasStock ? timeMs(stockReps, () => filterGradCall(x, dy, fShape), false).toFixed(1) : 'none';
      rows.push(`| ${backend} | ${name} filter gradient, x ${xShape.join('×')} → ${fShape[3]} | ${stock} | ${replaced} |`);
      tf.dispose([x, dy]);
    }
    const model = buildModel(DEFAULT_SPEC, 1);
    const optimizer = tf.train.adam(1e-3);
    const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 3);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
    const restore = useConvFilterGradViaConv(backend);
    const replacedStep = timeMs(3, () => trainStep(model, optimizer, x, y)).toFixed(0);
    restore();
    const stockStep = hasStock ? timeMs(stockReps, () => trainStep(model, optimizer, x, y), false).toFixed(0) : 'none';
    useConvFilterGradViaConv(backend);
    rows.push(`| ${backend} | training step, batch ${batch} (filter gradient only replaced) | ${stockStep} | ${replacedStep} |`);
    if (backend === 'wasm') {
      useUntransposedMatMul(backend);
      useConvInputGradViaConv(backend);
      const all = timeMs(3, () => trainStep(model, optimizer, x, y)).toFixed(0);
      rows.push(`| wasm | training step, batch ${batch}, + untransposed MatMul + input gradient via conv (as trained) | none | ${all} |`);
    }
    tf.dispose([x, y]);
    model.dispose();
  }
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, TF.js ${tf.version.tfjs}\n`);
  console.log('| backend | what | stock ms | replacement ms |\n|---|---|---|---|');
  console.log(rows.join('\n'));
  console.log('\nWASM training-only kernels vs the stock CPU kernels (max |difference|):\n');
  console.log('| kernel | max abs diff |\n|---|---|');
  console.log(checks.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
