import { describe, expect, it } from 'vitest';
import { TopologyBuilder } from './topologyBuilder.ts';

describe('TopologyBuilder', () => {
  it('writes inbound nodes in the Keras [[name, 0, 0, {}]] form', () => {
    const builder = new TopologyBuilder('m');
    const x = builder.input('in', [4, 4, 1]);
    const y = builder.layer('ReLU', 'r', {}, [x]);
    const topology = builder.build(builder.layer('Add', 'a', {}, [x, y])) as { config: { layers: { inbound_nodes: unknown }[] } };
    expect(topology.config.layers[2]?.inbound_nodes).toEqual([[['in', 0, 0, {}], ['r', 0, 0, {}]]]);
  });
});
