/**
 * The models the owner page offers out of the box: the clothing classifier trained by this
 * repository (served from /models/, precached by the PWA) and seeded zoo networks that every
 * device builds from the same few parameters (their weights are random: they measure speed).
 */
import type { ModelSpec } from '../runtime/index.ts';

export interface InputHandling {
  /** 'dark': trained on light objects on black (see compute/preprocess.ts); 'any': as is. */
  background: 'dark' | 'any';
}

export type BuiltInSource =
  | { kind: 'zoo'; spec: Extract<ModelSpec, { kind: 'zoo' }> }
  /** A TF.js model under /models/ of this server, with its class names beside it. */
  | { kind: 'served'; url: string; labelsUrl: string };

export interface BuiltInModel {
  label: string;
  note: string;
  source: BuiltInSource;
  input: InputHandling;
}

const benchmarkNote = 'The MoDNN paper’s network with seeded random weights: its labels are meaningless. It is here to measure speed-ups.';

export const BUILT_IN_MODELS = {
  clothing: {
    label: 'Clothing (Fashion-MNIST)',
    note: 'Recognises 10 kinds of clothing photographed alone on a plain background: T-shirt, trousers, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot. Anything else gets one of these 10 answers anyway.',
    source: { kind: 'served', url: '/models/clothing/model.json', labelsUrl: '/models/clothing/labels.json' },
    input: { background: 'dark' },
  },
  'vgg16-small': {
    label: 'VGG-16 benchmark, small (32×32, 1/16 width)',
    note: benchmarkNote,
    source: { kind: 'zoo', spec: { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } } },
    input: { background: 'any' },
  },
  'vgg16-medium': {
    label: 'VGG-16 benchmark, medium (112×112, 1/4 width)',
    note: benchmarkNote,
    source: { kind: 'zoo', spec: { kind: 'zoo', name: 'vgg16', options: { inputSize: 112, widthMultiplier: 1 / 4, classes: 1000 } } },
    input: { background: 'any' },
  },
  'vgg16-full': {
    label: 'VGG-16 benchmark, full (224×224, 15.5 GFLOPs)',
    note: `${benchmarkNote} The full network: every device builds about 60 MB of conv weights, so give it a few seconds.`,
    source: { kind: 'zoo', spec: { kind: 'zoo', name: 'vgg16', options: { inputSize: 224, widthMultiplier: 1, classes: 1000 } } },
    input: { background: 'any' },
  },
  mobilenetv2: {
    label: 'MobileNetV2-style benchmark (residual, depthwise)',
    note: 'Seeded random weights, labels meaningless: shows that residual and depthwise networks split too.',
    source: { kind: 'zoo', spec: { kind: 'zoo', name: 'mobilenetv2', options: { inputSize: 33 } } },
    input: { background: 'any' },
  },
} satisfies Record<string, BuiltInModel>;

export type BuiltInModelId = keyof typeof BUILT_IN_MODELS;
export const DEFAULT_MODEL: BuiltInModelId = 'clothing';
export const isBuiltInModelId = (id: string): id is BuiltInModelId => id in BUILT_IN_MODELS;
