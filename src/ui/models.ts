/** The models a page can run now: seeded zoo models that every device builds from the same spec. */
import type { ModelSpec } from '../runtime/index.ts';

export interface BuiltInModel {
  label: string;
  note: string;
  spec: ModelSpec;
}

export const BUILT_IN_MODELS = {
  'vgg16-small': {
    label: 'VGG-16, small (32×32, 1/16 width)',
    note: 'The paper’s network shrunk for quick runs; seeded weights, labels meaningless: it measures speed.',
    spec: { kind: 'zoo', name: 'vgg16', options: { inputSize: 32, widthMultiplier: 1 / 16, classes: 10 } },
  },
  'vgg16-medium': {
    label: 'VGG-16, medium (112×112, 1/4 width)',
    note: 'Seeded weights, labels meaningless: it measures speed.',
    spec: { kind: 'zoo', name: 'vgg16', options: { inputSize: 112, widthMultiplier: 1 / 4, classes: 1000 } },
  },
  mobilenetv2: {
    label: 'MobileNetV2-style (residual, depthwise)',
    note: 'Seeded weights, labels meaningless.',
    spec: { kind: 'zoo', name: 'mobilenetv2', options: { inputSize: 33 } },
  },
} satisfies Record<string, BuiltInModel>;

export type BuiltInModelId = keyof typeof BUILT_IN_MODELS;
export const isBuiltInModelId = (id: string): id is BuiltInModelId => id in BUILT_IN_MODELS;
