/**
 * `npm run train:fashion`: trains the built-in clothing classifier on Fashion-MNIST in Node with
 * pure TF.js (WASM backend, no native addon), prunes its hidden Dense layers, fine-tunes with the
 * pruning mask held, and writes public/models/clothing/{model.json, weights.bin, labels.json} and
 * the test fixtures in src/model/testdata/. Seeded end to end: the same seed gives the same model.
 *
 * Environment: FASHION_MNIST_DIR (data folder), FASHION_SEED, FASHION_EPOCHS, FASHION_FINE_TUNE_EPOCHS,
 * FASHION_SPARSITY, FASHION_TRAIN_LIMIT (train on the first N images only, for a quick smoke run),
 * FASHION_OUT (model folder), FASHION_FIXTURES (fixture file; "none" to skip).
 */
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { useConvFilterGradViaConv } from '../src/compute/index.ts';
import { deriveSeed } from '../src/model/index.ts';
import { useConvInputGradViaConv, useUntransposedMatMul } from './fashion/fast-kernels.ts';
import { chooseFixtures, writeFixtures } from './fashion/fixtures.ts';
import { datasetDir, loadSplit } from './fashion/idx.ts';
import { buildModel, DEFAULT_SPEC, hiddenDenseNames } from './fashion/model.ts';
import { measuredSparsity, pruneDense, applyMasks } from './fashion/prune.ts';
import { CLASS_NAMES, saveLayersModel, writeLabels } from './fashion/save.ts';
import { accuracy, predictAll, trainEpoch } from './fashion/train-loop.ts';

const BACKEND = 'wasm';
const BATCH = 128;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name}=${raw} is not a number`);
  return value;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

async function main(): Promise<void> {
  const seed = envNumber('FASHION_SEED', 20240607);
  const epochs = envNumber('FASHION_EPOCHS', 3);
  const fineTuneEpochs = envNumber('FASHION_FINE_TUNE_EPOCHS', 1);
  const sparsity = envNumber('FASHION_SPARSITY', 0.9);
  const outDir = resolve(process.env.FASHION_OUT ?? 'public/models/clothing');
  const fixturesPath = process.env.FASHION_FIXTURES ?? 'src/model/testdata/fashion-mnist-samples.json';
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;

  const dir = datasetDir();
  const fullTrain = loadSplit(dir, 'train');
  const limit = envNumber('FASHION_TRAIN_LIMIT', fullTrain.count);
  const train = { ...fullTrain, count: Math.min(limit, fullTrain.count) };
  const test = loadSplit(dir, 't10k');
  console.log(`Fashion-MNIST from ${dir}: ${train.count} training, ${test.count} test images`);

  if (!(await tf.setBackend(BACKEND))) throw new Error(`TF.js backend ${BACKEND} did not start`);
  await tf.ready();
  // WASM has no filter-gradient kernel at all, and slow transposed matmuls / input gradients.
  useConvFilterGradViaConv(BACKEND);
  useUntransposedMatMul(BACKEND);
  useConvInputGradViaConv(BACKEND);

  const spec = DEFAULT_SPEC;
  const dense = hiddenDenseNames(spec);
  const model = buildModel(spec, deriveSeed(seed, 'init'));
  model.summary(undefined, undefined, (line: string) => console.log(line));

  const optimizer = tf.train.adam(1e-3);
  for (let e = 0; e < epochs; e++) {
    const loss = trainEpoch(model, optimizer, train, { batchSize: BATCH, seed: deriveSeed(seed, `epoch${e}`), label: `epoch ${e + 1}/${epochs}` });
    console.log(`epoch ${e + 1}: mean loss ${loss.toFixed(4)}, ${elapsed()}`);
  }
  const trainedAt = performance.now();
  const denseAccuracy = accuracy(predictAll(model, test), test.labels);
  console.log(`dense test accuracy ${pct(denseAccuracy)} (${elapsed()})`);

  const masks = pruneDense(model, dense, sparsity);
  const prunedAccuracy = accuracy(predictAll(model, test), test.labels);
  console.log(`pruned to ${pct(sparsity)} zeros in ${dense.join(', ')}: test accuracy ${pct(prunedAccuracy)} before fine-tuning`);

  // A fresh optimizer with a smaller step: the surviving weights only need to adjust.
  const fineTuner = tf.train.adam(3e-4);
  for (let e = 0; e < fineTuneEpochs; e++) {
    const loss = trainEpoch(model, fineTuner, train, {
      batchSize: BATCH, seed: deriveSeed(seed, `finetune${e}`), label: `fine-tune ${e + 1}/${fineTuneEpochs}`,
      afterStep: () => applyMasks(model, masks),
    });
    console.log(`fine-tune epoch ${e + 1}: mean loss ${loss.toFixed(4)}, ${elapsed()}`);
  }
  const finalPredictions = predictAll(model, test);
  const finalAccuracy = accuracy(finalPredictions, test.labels);
  const sparsityNow = measuredSparsity(model, dense);
  const trainingSeconds = (performance.now() - started) / 1000;

  const bytes = await saveLayersModel(model, outDir);
  writeLabels(outDir, {
    labels: CLASS_NAMES,
    inputShape: [28, 28, 1],
    background: 'dark',
    testAccuracy: { dense: denseAccuracy, pruned: finalAccuracy, prunedBeforeFineTune: prunedAccuracy },
    denseSparsity: sparsityNow,
    trainedWith: 'npm run train:fashion',
    seed,
  });
  const fixtures = chooseFixtures(test, finalPredictions);
  if (fixturesPath !== 'none') writeFixtures(resolve(fixturesPath), fixtures);

  const params = (names: string[]): number => names.reduce((n, name) => n + model.getLayer(name).countParams(), 0);
  console.log('\n=== clothing classifier ===');
  console.log(`architecture      conv ${spec.convBlocks.map((b) => b.join('-')).join(' | pool | ')} | pool | flatten | dense ${spec.hidden.join('-')} | softmax 10`);
  console.log(`parameters        ${model.countParams()} total; hidden dense ${params(dense)}`);
  console.log(`sparsity          ${Object.entries(sparsityNow).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`);
  console.log(`test accuracy     dense ${pct(denseAccuracy)}, pruned ${pct(prunedAccuracy)}, fine-tuned ${pct(finalAccuracy)}`);
  console.log(`wall time         ${trainingSeconds.toFixed(0)} s (dense training ${((trainedAt - started) / 1000).toFixed(0)} s), backend ${tf.getBackend()}, node ${process.version}`);
  console.log(`fixtures          t10k ${fixtures.samples.map((s) => s.index).join(', ')}${fixtures.skipped.length > 0 ? `; skipped ${fixtures.skipped.slice(0, 20).map((s) => s.index).join(', ')}` : ''}`);
  console.log(`written           ${outDir}/model.json, weights.bin (${bytes} bytes), labels.json; ${fixturesPath}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
