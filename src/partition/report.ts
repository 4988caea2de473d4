import type { CsrMatrix, ModelGraph } from '../model/index.ts';
import { csrNnz } from '../model/index.ts';
import type { DeviceProfile } from './cost.ts';
import { capability } from './cost.ts';
import type { Plan, PlannerOptions } from './planner.ts';
import { planInference } from './planner.ts';
import { fcTraffic, partitionFcMsccFgcp, partitionFcOutputSplit } from './sparse/fcPartition.ts';
import { stepLabel } from './plan.ts';

/** A named set of devices; device 0 is the owner. */
export interface DeviceSet {
  readonly name: string;
  readonly devices: readonly DeviceProfile[];
}

/** What `buildPartitionReport` needs; the caller does the I/O and owns the clock. */
export interface PartitionReportInput {
  readonly graph: ModelGraph;
  /** Pruned Dense kernels by weight name (`fc6/kernel`). */
  readonly fcWeights: ReadonlyMap<string, CsrMatrix>;
  /** Dense kernels to report on (default fc6 and fc7). */
  readonly fcLayers?: readonly string[];
  readonly deviceSets: readonly DeviceSet[];
  /** Grid readings to compare BODP with, [p, q]; 'squarest' is p × q = number of devices. */
  readonly gridReadings?: readonly ('squarest' | readonly [number, number])[];
  /** A monotonic clock in ms (e.g. performance.now), to time planning. */
  readonly now: () => number;
  readonly seed?: number;
}

/** One scheme's traffic for one device set, conv/pool part of VGG-16 only. */
export interface SpatialRow {
  readonly deviceSet: string;
  readonly scheme: string;
  /** Activation bytes on the wire per inference, both directions. */
  readonly bytes: number;
  readonly messages: number;
  /** Σ over messages of t_wake + s/B: the paper's "data delivery time". */
  readonly deliveryMs: number;
  readonly predictedMs: number;
}

export interface FcRow {
  readonly deviceSet: string;
  readonly layer: string;
  /** MSCC + FGCP with FGCP's load balancing (the default), without it, or the broadcast output split. */
  readonly scheme: 'msccFgcp' | 'msccFgcp unbalanced' | 'outputSplit';
  readonly bytes: number;
  readonly messages: number;
  readonly crossCount: number;
  /** max over devices of computed nonzeros / (capability share · nnz) − 1, after FGCP. */
  readonly loadImbalance: number;
  /** The same for the output columns each device owns (what MSCC bounds by ε). */
  readonly columnLoadImbalance: number;
  /** Largest per-device weight memory (CSR bytes) over the whole layer's dense bytes. */
  readonly maxWeightMemoryRatio: number;
  readonly partitionMs: number;
}

export interface PartitionReport {
  readonly spatial: readonly SpatialRow[];
  readonly fc: readonly FcRow[];
  readonly planner: readonly { deviceSet: string; plan: Plan; planningMs: number }[];
  /**
   * Planning time of the largest device set with MSCC + FGCP forced on every pruned FC layer (the
   * planner skips MSCC when one wake-up round trip already costs more than the owner's FC time).
   */
  readonly forcedMscc: { readonly deviceSet: string; readonly planningMs: number } | undefined;
  readonly markdown: string;
}

const bytesPerNonzero = 8;
const bytesPerFloat32 = 4;

function deliveryMs(plan: Plan): number {
  let total = 0;
  for (const { prediction } of plan.steps) {
    prediction.bytesToDevice.forEach((bytes, d) => {
      const device = plan.devices[d] as DeviceProfile;
      if (d > 0 && bytes > 0) total += device.wakeMs + bytes / device.bandwidthBytesPerMs;
    });
    prediction.bytesFromDevice.forEach((bytes, d) => {
      const device = plan.devices[d] as DeviceProfile;
      if (d > 0 && bytes > 0) total += device.wakeMs + bytes / device.bandwidthBytesPerMs;
    });
  }
  return total;
}

function spatialOnly(graph: ModelGraph): ModelGraph {
  // The conv/pool part: everything up to the first global layer (Flatten for VGG-16).
  const cut = graph.nodes.findIndex((n) => n.id !== graph.inputId && n.spatialRole === 'global');
  const nodes = cut < 0 ? graph.nodes : graph.nodes.slice(0, cut);
  return { ...graph, nodes, outputId: nodes.length - 1 };
}

function loadImbalance(loads: readonly number[], capabilities: readonly number[], nnz: number): number {
  const total = capabilities.reduce((a, b) => a + b, 0);
  return Math.max(...loads.map((load, d) => load / (((capabilities[d] as number) / total) * nnz))) - 1;
}

function format(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * The numbers of issue 3's report: per device set, bytes / messages / delivery time of BODP per
 * layer, 2D-grid readings, fused blocks and the planner's choice on the conv part of the model; for
 * the pruned FC layers, MSCC + FGCP against the broadcast output split; planning times. Pure apart
 * from the injected clock; the caller prints and writes the markdown.
 */
export function buildPartitionReport(input: PartitionReportInput): PartitionReport {
  const conv = spatialOnly(input.graph);
  const readings = input.gridReadings ?? ['squarest', [2, 2], [3, 3], [4, 4]];
  const forced: PlannerOptions = { allowOwnerOnly: false, excludeDevices: false, seed: input.seed ?? 1 };
  const spatial: SpatialRow[] = [];
  const fc: FcRow[] = [];
  const planner: { deviceSet: string; plan: Plan; planningMs: number }[] = [];
  for (const set of input.deviceSets) {
    const row = (scheme: string, plan: Plan): void => {
      spatial.push({ deviceSet: set.name, scheme, bytes: plan.totalBytes, messages: plan.totalMessages, deliveryMs: deliveryMs(plan), predictedMs: plan.predictedMs });
    };
    row('BODP per layer', planInference(conv, set.devices, { ...forced, spatialSchemes: ['bodp'], maxFusedDepth: 1 }));
    for (const reading of readings) {
      const grid = reading === 'squarest' ? undefined : reading;
      const label = reading === 'squarest' ? '2D grid p×q = n' : `2D grid ${reading[0]}×${reading[1]}`;
      row(`${label} per layer`, planInference(conv, set.devices, { ...forced, spatialSchemes: ['grid'], maxFusedDepth: 1, ...(grid === undefined ? {} : { grid }) }));
    }
    row('fused blocks (rows, best depth)', planInference(conv, set.devices, { ...forced, spatialSchemes: ['fused'] }));
    row("planner's choice (conv part)", planInference(conv, set.devices, { seed: input.seed ?? 1 }));

    const started = input.now();
    const plan = planInference(input.graph, set.devices, { fcWeights: input.fcWeights, seed: input.seed ?? 1 });
    planner.push({ deviceSet: set.name, plan, planningMs: input.now() - started });

    const capabilities = set.devices.map(capability);
    for (const layer of input.fcLayers ?? ['fc6/kernel', 'fc7/kernel']) {
      const matrix = input.fcWeights.get(layer);
      if (matrix === undefined) continue;
      const nnz = csrNnz(matrix);
      const denseBytes = matrix.rows * matrix.cols * bytesPerFloat32;
      for (const scheme of ['msccFgcp', 'msccFgcp unbalanced', 'outputSplit'] as const) {
        const t0 = input.now();
        const partition = scheme === 'outputSplit'
          ? partitionFcOutputSplit(matrix, capabilities)
          : partitionFcMsccFgcp(matrix, capabilities, { seed: input.seed ?? 1, balanceLoads: scheme === 'msccFgcp' });
        const partitionMs = input.now() - t0;
        const traffic = fcTraffic(partition.workers);
        fc.push({
          deviceSet: set.name,
          layer,
          scheme,
          bytes: traffic.totalBytes,
          messages: traffic.messages,
          crossCount: partition.crossCount,
          loadImbalance: loadImbalance(partition.loads, capabilities, nnz),
          columnLoadImbalance: loadImbalance(partition.columnLoads, capabilities, nnz),
          maxWeightMemoryRatio: Math.max(...partition.workers.map((w) => csrNnz(w.weights) * bytesPerNonzero)) / denseBytes,
          partitionMs,
        });
      }
    }
  }
  const largest = [...input.deviceSets].sort((a, b) => b.devices.length - a.devices.length)[0];
  let forcedMscc: PartitionReport['forcedMscc'];
  if (largest !== undefined) {
    const started = input.now();
    planInference(input.graph, largest.devices, { fcWeights: input.fcWeights, fcSchemes: ['msccFgcp'], allowOwnerOnly: false, excludeDevices: false, seed: input.seed ?? 1 });
    forcedMscc = { deviceSet: largest.name, planningMs: input.now() - started };
  }
  return { spatial, fc, planner, forcedMscc, markdown: toMarkdown(input, spatial, fc, planner, forcedMscc) };
}

function toMarkdown(
  input: PartitionReportInput,
  spatial: readonly SpatialRow[],
  fc: readonly FcRow[],
  planner: readonly { deviceSet: string; plan: Plan; planningMs: number }[],
  forcedMscc: PartitionReport['forcedMscc'],
): string {
  const lines: string[] = [`# Partition report: ${input.graph.name}`, ''];
  lines.push('## Conv/pool part, per inference (owner-centred: every distributed step is scattered and gathered by the owner)', '');
  lines.push('| devices | scheme | bytes | messages | delivery time (ms) | vs BODP bytes | vs BODP delivery | predicted latency (ms) |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const row of spatial) {
    const bodp = spatial.find((r) => r.deviceSet === row.deviceSet && r.scheme === 'BODP per layer') as SpatialRow;
    const relative = (a: number, b: number): string => (b === 0 ? '—' : `${format(((a - b) / b) * 100, 1)}%`);
    lines.push(`| ${row.deviceSet} | ${row.scheme} | ${format(row.bytes)} | ${row.messages} | ${format(row.deliveryMs, 1)} | ${relative(row.bytes, bodp.bytes)} | ${relative(row.deliveryMs, bodp.deliveryMs)} | ${format(row.predictedMs, 1)} |`);
  }
  lines.push('', '## Pruned FC layers: MSCC + FGCP vs the broadcast output split', '');
  lines.push('| devices | layer | scheme | activation bytes | messages | cross nonzeros | column-load imbalance (MSCC) | compute-load imbalance (after FGCP) | max weight memory / dense layer | partition time (ms) |', '|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of fc) {
    lines.push(`| ${row.deviceSet} | ${row.layer} | ${row.scheme} | ${format(row.bytes)} | ${row.messages} | ${format(row.crossCount)} | ${format(row.columnLoadImbalance * 100, 1)}% | ${format(row.loadImbalance * 100, 1)}% | ${format(row.maxWeightMemoryRatio * 100, 2)}% | ${format(row.partitionMs)} |`);
  }
  lines.push('', "## The planner's choice for the whole model", '');
  lines.push('| devices | kept | excluded (why) | steps | bytes | messages | predicted (ms) | owner alone (ms) | planning time (ms) |', '|---|---|---|---|---:|---:|---:|---:|---:|');
  for (const { deviceSet, plan, planningMs } of planner) {
    const steps = plan.steps.map(({ step }) => (step.kind === 'owner' ? `owner×${step.nodeIds.length}` : stepLabel(step))).join(' ');
    const excluded = plan.excluded.map((e) => `${e.deviceId}: ${e.reason}`).join('; ') || '—';
    lines.push(`| ${deviceSet} | ${plan.devices.map((d) => d.id).join(', ')} | ${excluded} | ${steps} | ${format(plan.totalBytes)} | ${plan.totalMessages} | ${format(plan.predictedMs, 1)} | ${format(plan.ownerAloneMs, 1)} | ${format(planningMs)} |`);
  }
  if (forcedMscc !== undefined) {
    lines.push('', `Planning ${forcedMscc.deviceSet} with MSCC + FGCP forced on every pruned FC layer: ${format(forcedMscc.planningMs)} ms.`);
  }
  lines.push('');
  return lines.join('\n');
}
