/**
 * Writes Keras functional-model topologies (the JSON `tf.LayersModel.toJSON(null, false)` returns),
 * so the zoo's models go through exactly the lowering path a user's model.json does.
 */
export class TopologyBuilder {
  private readonly layers: Record<string, unknown>[] = [];
  private inputName = '';

  constructor(private readonly modelName: string) {}

  /** Declares the single input, batchless shape [H, W, C]. */
  input(name: string, shape: readonly number[]): string {
    this.inputName = name;
    this.layers.push({ name, class_name: 'InputLayer', config: { name, batch_input_shape: [null, ...shape], dtype: 'float32', sparse: false }, inbound_nodes: [] });
    return name;
  }

  /** Adds a layer fed by `inputs` and returns its name, to be used as the next layer's input. */
  layer(className: string, name: string, config: Record<string, unknown>, inputs: readonly string[]): string {
    this.layers.push({
      name,
      class_name: className,
      config: { ...config, name, trainable: true },
      inbound_nodes: [inputs.map((input) => [input, 0, 0, {}])],
    });
    return name;
  }

  /** The topology with `output` as the model's output layer. */
  build(output: string): Record<string, unknown> {
    return {
      class_name: 'Model',
      config: { name: this.modelName, layers: this.layers, input_layers: [[this.inputName, 0, 0]], output_layers: [[output, 0, 0]] },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    };
  }
}
