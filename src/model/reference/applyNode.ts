import type { Activation, GraphNode, Padding2d, Window2d } from '../graph.ts';
import { ModelError, modelAssert } from '../errors.ts';
import type { ModelWeights } from '../weights.ts';
import { denseWeight } from '../weights.ts';
import type { Tensor, Tensor3D, TfModule } from './tfModule.ts';

/**
 * Weights as tensors, made once per model and backend instead of uploaded again for every node
 * run (every tile a worker computes, every image the owner runs): on WebGPU the upload cost more
 * than the convolutions. Kept out of `tidy` scopes; they live as long as their model's weights.
 * Sparse (pruned Dense) kernels are not cached: densified they can be hundreds of MB (fc6).
 */
const weightTensors = new WeakMap<ModelWeights, Map<string, Tensor>>();
const everyWeightTensor = new Set<Tensor>();

/**
 * How many weight tensors are kept for models now. A device holds them for as long as it has the
 * model, filling in as it first runs each layer, so a leak check counts the tensors beyond these.
 */
export function keptWeightTensorCount(): number {
  let count = 0;
  for (const tensor of everyWeightTensor) {
    if (tensor.isDisposed) everyWeightTensor.delete(tensor);
    else count++;
  }
  return count;
}

function weightTensor(tf: TfModule, weights: ModelWeights, name: string, shape: readonly number[]): Tensor {
  if (weights.sparse.has(name)) return tf.tensor(denseWeight(weights, name, shape), [...shape]);
  let cache = weightTensors.get(weights);
  if (!cache) {
    cache = new Map();
    weightTensors.set(weights, cache);
  }
  const key = `${tf.getBackend()}:${name}`;
  let tensor = cache.get(key);
  if (!tensor || tensor.isDisposed) {
    tensor = tf.keep(tf.tensor(denseWeight(weights, name, shape), [...shape]));
    cache.set(key, tensor);
    everyWeightTensor.add(tensor);
  }
  return tensor;
}

/** One prepared input of a node: a band of its producer's output and the border padding to add. */
export interface PaddedInput {
  readonly band: Tensor;
  readonly pad: Padding2d;
}

function applyActivation(tf: TfModule, x: Tensor, activation: Activation): Tensor {
  switch (activation.kind) {
    case 'linear': return x;
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'leakyRelu': return tf.leakyRelu(x, activation.alpha);
    case 'elu': return tf.elu(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'tanh': return tf.tanh(x);
    case 'softmax': return tf.softmax(x);
    case 'swish': return tf.mul(x, tf.sigmoid(x));
  }
}

function padTensor(tf: TfModule, input: PaddedInput, fill: number): Tensor3D {
  const { band, pad } = input;
  const [h, w, c] = band.shape as [number, number, number];
  if (pad.top + pad.bottom + pad.left + pad.right === 0) return band as Tensor3D;
  if (h * w === 0) {
    // A slice that lies entirely in the padding (zero-padding layers): nothing to read.
    return tf.fill([h + pad.top + pad.bottom, w + pad.left + pad.right, c], fill);
  }
  return tf.pad(band as Tensor3D, [[pad.top, pad.bottom], [pad.left, pad.right], [0, 0]], fill);
}

/**
 * TF.js rejects stride > 1 together with dilation > 1; a dilated kernel with explicit zero taps
 * is the same convolution and has neither restriction.
 */
function dilateKernel(tf: TfModule, kernel: Tensor, window: Window2d): { kernel: Tensor; dilation: [number, number] } {
  const [dh, dw] = window.dilation;
  if ((dh === 1 && dw === 1) || (window.strides[0] === 1 && window.strides[1] === 1)) {
    return { kernel, dilation: [dh, dw] };
  }
  const [kh, kw, ci, co] = kernel.shape as [number, number, number, number];
  const source = kernel.arraySync() as number[][][][];
  const eh = dh * (kh - 1) + 1;
  const ew = dw * (kw - 1) + 1;
  const values = new Float32Array(eh * ew * ci * co);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let a = 0; a < ci; a++) {
        for (let b = 0; b < co; b++) values[(((i * dh) * ew + j * dw) * ci + a) * co + b] = source[i]?.[j]?.[a]?.[b] ?? 0;
      }
    }
  }
  return { kernel: tf.tensor4d(values, [eh, ew, ci, co]), dilation: [1, 1] };
}

function windowOp(tf: TfModule, node: GraphNode, weights: ModelWeights, input: PaddedInput): Tensor {
  const attrs = node.attrs;
  const weight = (index: number): Tensor => {
    const ref = node.weights[index];
    if (ref === undefined) throw new ModelError('ERR_MODEL_WEIGHTS', `applyNode: '${node.name}' has no weight #${index}`);
    return weightTensor(tf, weights, ref.name, ref.shape);
  };
  switch (attrs.op) {
    case 'conv2d': {
      const x = padTensor(tf, input, 0);
      const { kernel, dilation } = dilateKernel(tf, weight(0), attrs.window);
      let y: Tensor = tf.conv2d(x, kernel as never, attrs.window.strides as [number, number], 'valid', 'NHWC', dilation);
      if (attrs.useBias) y = tf.add(y, weight(1));
      return applyActivation(tf, y, attrs.activation);
    }
    case 'depthwiseConv2d':
    case 'separableConv2d': {
      const x = padTensor(tf, input, 0);
      const { kernel, dilation } = dilateKernel(tf, weight(0), attrs.window);
      let y: Tensor = tf.depthwiseConv2d(x, kernel as never, attrs.window.strides as [number, number], 'valid', 'NHWC', dilation);
      if (attrs.op === 'separableConv2d') y = tf.conv2d(y as Tensor3D, weight(1) as never, 1, 'valid');
      if (attrs.useBias) y = tf.add(y, weight(attrs.op === 'separableConv2d' ? 2 : 1));
      return applyActivation(tf, y, attrs.activation);
    }
    case 'maxPool2d': {
      const x = padTensor(tf, input, Number.NEGATIVE_INFINITY);
      return tf.maxPool(x, attrs.window.kernel as [number, number], attrs.window.strides as [number, number], 'valid');
    }
    case 'avgPool2d': {
      const { kernel, strides } = attrs.window;
      const { pad } = input;
      const x = padTensor(tf, input, 0);
      if (pad.top + pad.bottom + pad.left + pad.right === 0) {
        return tf.avgPool(x, kernel as [number, number], strides as [number, number], 'valid');
      }
      // Padded cells are excluded from the average, as TF does for 'same' pooling.
      const ones = padTensor(tf, { band: tf.onesLike(tf.slice(input.band, [0, 0, 0], [-1, -1, 1])), pad }, 0);
      const sums = tf.avgPool(x, kernel as [number, number], strides as [number, number], 'valid');
      const counts = tf.avgPool(ones, kernel as [number, number], strides as [number, number], 'valid');
      return tf.div(sums, counts);
    }
    case 'zeroPadding2d':
      // The cut's padding is exactly this layer's padding where the slice touches the border.
      return padTensor(tf, input, 0);
    default:
      throw new ModelError('ERR_MODEL_EXECUTION', `applyNode: '${node.name}' (${attrs.op}) is not a window op`);
  }
}

/**
 * Runs one node on prepared inputs with TF.js. Window ops see their input already cropped to the
 * rows/columns they need plus explicit border padding, and run with 'valid' padding, which is
 * exactly how a device computes its slice; the whole layer is the slice with the full map and
 * the layer's own padding.
 */
export function applyNode(tf: TfModule, node: GraphNode, weights: ModelWeights, inputs: readonly PaddedInput[]): Tensor {
  const attrs = node.attrs;
  const first = inputs[0];
  modelAssert(first !== undefined || attrs.op === 'input', 'ERR_MODEL_EXECUTION', () => `applyNode: '${node.name}' got no input`);
  const x = first?.band as Tensor;
  const weight = (index: number): Tensor => {
    const ref = node.weights[index];
    if (ref === undefined) throw new ModelError('ERR_MODEL_WEIGHTS', `applyNode: '${node.name}' has no weight #${index}`);
    return weightTensor(tf, weights, ref.name, ref.shape);
  };
  switch (attrs.op) {
    case 'conv2d':
    case 'depthwiseConv2d':
    case 'separableConv2d':
    case 'maxPool2d':
    case 'avgPool2d':
    case 'zeroPadding2d':
      return windowOp(tf, node, weights, first as PaddedInput);
    case 'batchNorm': {
      let index = 0;
      const gamma = attrs.scale ? weight(index++) : undefined;
      const beta = attrs.center ? weight(index++) : undefined;
      const mean = weight(index++);
      const variance = weight(index);
      let y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, attrs.epsilon)));
      if (gamma !== undefined) y = tf.mul(y, gamma);
      if (beta !== undefined) y = tf.add(y, beta);
      return y;
    }
    case 'activation':
      return applyActivation(tf, x, attrs.activation);
    case 'softmax':
      return tf.softmax(x, attrs.axis);
    case 'dropout':
    case 'input':
      return x;
    case 'add':
      return tf.addN(inputs.map((input) => input.band));
    case 'concat':
      return tf.concat(inputs.map((input) => input.band), attrs.axis);
    case 'flatten':
      return tf.reshape(x, [-1]);
    case 'reshape':
      return tf.reshape(x, [...attrs.targetShape]);
    case 'globalAvgPool2d':
      return tf.mean(x, [0, 1]);
    case 'dense': {
      let y: Tensor = tf.squeeze(tf.matMul(tf.reshape(x, [1, -1]), weight(0)), [0]);
      if (attrs.useBias) y = tf.add(y, weight(1));
      return applyActivation(tf, y, attrs.activation);
    }
    case 'opaque':
      throw new ModelError('ERR_MODEL_EXECUTION', `applyNode: '${node.name}' is an unmodelled ${attrs.className} layer`);
  }
}
