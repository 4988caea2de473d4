import { partitionAssert } from './errors.ts';
import type { WirePrecision } from './plan.ts';

/** Bytes a value takes on the wire at each precision. */
const bytesPerValue: Readonly<Record<WirePrecision, number>> = { float32: 4, float16: 2, int8: 1 };
/** int8 tensors carry their affine scale and offset (two float32s). */
const int8HeaderBytes = 8;

/**
 * Bytes one tensor of `values` activations takes on the wire: 4, 2 or 1 per value, plus 8 for
 * int8's scale and offset. An empty tensor is not sent (0).
 */
export function wireBytes(values: number, wire: WirePrecision = 'float32'): number {
  if (values <= 0) return 0;
  return values * bytesPerValue[wire] + (wire === 'int8' ? int8HeaderBytes : 0);
}

/**
 * What the planner knows of a device (ALGORITHMS.md §2). Device 0 of a plan is always the owner,
 * whose link fields are ignored (it does not message itself).
 */
export interface DeviceProfile {
  /** Stable id, used in plans and reasons. */
  readonly id: string;
  /** Compute time per FLOP in ms: T_comp = a·FLOPs + b. Capability is 1/a. */
  readonly aMsPerFlop: number;
  /** Fixed overhead per layer run, in ms (kernel launch, scheduling). */
  readonly bMs: number;
  /** Owner↔device throughput in bytes per ms (1 MB/s = 1000 bytes/ms). */
  readonly bandwidthBytesPerMs: number;
  /** Per-message wake-up cost in ms (radio and scheduling latency). */
  readonly wakeMs: number;
  /** Memory available for weights and activations, in bytes. */
  readonly memoryBytes: number;
}

/** Capability c = 1/a: FLOPs per ms. */
export function capability(device: DeviceProfile): number {
  return 1 / device.aMsPerFlop;
}

/**
 * Compute time of `flops` spread over `layers` layer runs on a device, ms: a·FLOPs + b·layers
 * (b is fitted per layer). Zero work costs nothing (no task is sent).
 */
export function computeMs(device: DeviceProfile, flops: number, layers = 1): number {
  return flops > 0 ? device.aMsPerFlop * flops + device.bMs * layers : 0;
}

/** Cost of one message of `bytes` on a device's link, ms: t_wake + s/B. */
export function messageMs(device: DeviceProfile, bytes: number): number {
  return device.wakeMs + bytes / device.bandwidthBytesPerMs;
}

/** One device's share of a distributed step. */
export interface DeviceTask {
  /** Index into the plan's device list (0 = owner). */
  readonly device: number;
  readonly flops: number;
  /** Layer runs (kernels) the task consists of; each costs b once. */
  readonly layers: number;
  /** Sizes of the messages the owner sends it (one per tile or FC slice). */
  readonly sendBytes: readonly number[];
  /** Sizes of the messages it returns. */
  readonly returnBytes: readonly number[];
}

/** Predicted cost of a step and the traffic behind it. */
export interface StepPrediction {
  readonly latencyMs: number;
  /** Compute ms per device (plan order). */
  readonly computeMs: readonly number[];
  /** Bytes sent owner → device, per device. */
  readonly bytesToDevice: readonly number[];
  /** Bytes returned device → owner, per device. */
  readonly bytesFromDevice: readonly number[];
  /** Bytes sent worker ↔ worker without the owner (resident runs' halos); 0 for other steps. */
  readonly peerBytes: number;
  /** Messages on any link, halo messages included. */
  readonly messages: number;
}

/**
 * Owner-centred timeline of one distributed step (ALGORITHMS.md §2): the owner sends the scatter
 * messages one after another on the shared WLAN (the slowest worker first), computes its own share
 * meanwhile (the runtime sends asynchronously), each worker computes once its input has arrived,
 * and the gathers share the medium again in order of readiness. Merging is a copy and is ignored.
 */
export function predictStep(devices: readonly DeviceProfile[], tasks: readonly DeviceTask[]): StepPrediction {
  const n = devices.length;
  const flops = new Array<number>(n).fill(0);
  const layers = new Array<number>(n).fill(0);
  const sends: number[][] = devices.map(() => []);
  const returns: number[][] = devices.map(() => []);
  for (const task of tasks) {
    partitionAssert(task.device >= 0 && task.device < n, 'ERR_PARTITION_PLAN', () => `predictStep: task for device ${task.device}, plan has ${n}`);
    flops[task.device] = (flops[task.device] as number) + task.flops;
    layers[task.device] = (layers[task.device] as number) + task.layers;
    sends[task.device]?.push(...task.sendBytes);
    returns[task.device]?.push(...task.returnBytes);
  }
  const compute = devices.map((device, d) => computeMs(device, flops[d] as number, layers[d] as number));
  const workers = devices.map((_, d) => d).filter((d) => d !== 0 && (flops[d] as number) > 0);
  workers.sort((a, b) => (compute[b] as number) - (compute[a] as number) || a - b);

  let medium = 0;
  const ready = new Map<number, number>();
  for (const d of workers) {
    const device = devices[d] as DeviceProfile;
    for (const bytes of sends[d] as number[]) medium += messageMs(device, bytes);
    ready.set(d, medium + (compute[d] as number));
  }
  const byReadiness = [...workers].sort((a, b) => (ready.get(a) as number) - (ready.get(b) as number) || a - b);
  for (const d of byReadiness) {
    const device = devices[d] as DeviceProfile;
    medium = Math.max(medium, ready.get(d) as number);
    for (const bytes of returns[d] as number[]) medium += messageMs(device, bytes);
  }
  const sum = (list: number[] | undefined): number => (list ?? []).reduce((a, b) => a + b, 0);
  return {
    latencyMs: Math.max(compute[0] as number, medium),
    computeMs: compute,
    bytesToDevice: devices.map((_, d) => (d === 0 ? 0 : sum(sends[d]))),
    bytesFromDevice: devices.map((_, d) => (d === 0 ? 0 : sum(returns[d]))),
    peerBytes: 0,
    messages: workers.reduce((count, d) => count + (sends[d]?.length ?? 0) + (returns[d]?.length ?? 0), 0),
  };
}

/** A step the owner runs alone: `layers` layer runs totalling `flops`. */
export function predictOwnerOnly(devices: readonly DeviceProfile[], flops: number, layers = 1): StepPrediction {
  const owner = devices[0] as DeviceProfile;
  const zeros = devices.map(() => 0);
  const compute = devices.map((_, d) => (d === 0 ? computeMs(owner, flops, layers) : 0));
  return { latencyMs: compute[0] as number, computeMs: compute, bytesToDevice: zeros, bytesFromDevice: zeros, peerBytes: 0, messages: 0 };
}

/** A resident run (ResidentStep) as the cost model sees it; see `residentTasks`. */
export interface ResidentTasks {
  /** Plan device indices of the run, in strip order. */
  readonly devices: readonly number[];
  /** Per run device: bytes the owner sends it first (the owner's own entry is not sent). */
  readonly scatterBytes: readonly number[];
  readonly layers: readonly {
    /** Per run device: FLOPs of its strip. */
    readonly flops: readonly number[];
    /** Kernel runs of the layer (0 for a copy such as zero padding), each costing b. */
    readonly kernels: number;
    /** Halo messages received before the layer (plan device indices). */
    readonly halos: readonly { readonly from: number; readonly to: number; readonly bytes: number }[];
  }[];
  /** Per run device: bytes it returns to the owner at the end (the owner's own entry is not sent). */
  readonly gatherBytes: readonly number[];
}

/**
 * One halo message between two devices of a run, ms: the slower end's wake-up plus the bytes at the
 * slower end's bandwidth. The owner's own link fields are ignored (its end is the worker's link).
 */
export function haloMs(devices: readonly DeviceProfile[], from: number, to: number, bytes: number): number {
  const ends = [from, to].filter((d) => d !== 0).map((d) => devices[d] as DeviceProfile);
  const wake = Math.max(...ends.map((d) => d.wakeMs));
  const bandwidth = Math.min(...ends.map((d) => d.bandwidthBytesPerMs));
  return wake + bytes / bandwidth;
}

/**
 * [ours] Timeline of a resident run (ALGORITHMS.md §5): the owner scatters each worker its input
 * rows one after another on the shared medium (the worker with the most first-layer work first);
 * each device computes the first layer once its rows have arrived; every later layer starts when
 * the previous one has finished on every device (devices wait for their neighbours' rows) and takes,
 * per device, its incoming halo messages in series (different pairs in parallel) and then its
 * compute, the slowest device deciding; finally the workers return their strips to the owner one
 * after another. Scatter and gather are owner-link bytes; halos are `peerBytes`.
 */
export function predictResident(devices: readonly DeviceProfile[], run: ResidentTasks): StepPrediction {
  const n = devices.length;
  partitionAssert(run.devices.every((d) => d >= 0 && d < n), 'ERR_PARTITION_PLAN', () =>
    `predictResident: run devices [${run.devices.join(', ')}], plan has ${n}`);
  const position = new Map(run.devices.map((d, i) => [d, i]));
  const compute = new Array<number>(n).fill(0);
  const bytesToDevice = new Array<number>(n).fill(0);
  const bytesFromDevice = new Array<number>(n).fill(0);
  let messages = 0;
  let peerBytes = 0;
  const layerMs = run.layers.map((layer) => run.devices.map((d, i) => computeMs(devices[d] as DeviceProfile, layer.flops[i] ?? 0, layer.kernels)));
  for (const perDevice of layerMs) perDevice.forEach((ms, i) => { compute[run.devices[i] as number] = (compute[run.devices[i] as number] as number) + ms; });

  const first = layerMs[0] ?? run.devices.map(() => 0);
  const workers = run.devices.map((d, i) => ({ d, i })).filter(({ d, i }) => d !== 0 && (run.scatterBytes[i] ?? 0) > 0);
  workers.sort((a, b) => (first[b.i] as number) - (first[a.i] as number) || a.d - b.d);
  const arrival = run.devices.map(() => 0);
  let medium = 0;
  for (const { d, i } of workers) {
    const bytes = run.scatterBytes[i] as number;
    medium += messageMs(devices[d] as DeviceProfile, bytes);
    arrival[i] = medium;
    bytesToDevice[d] = bytes;
    messages++;
  }
  let t = Math.max(medium, ...run.devices.map((_, i) => (arrival[i] as number) + (first[i] as number)));
  run.layers.forEach((layer, k) => {
    if (k === 0) return;
    const receiving = run.devices.map(() => 0);
    for (const halo of layer.halos) {
      const i = position.get(halo.to);
      partitionAssert(i !== undefined && position.has(halo.from), 'ERR_PARTITION_PLAN', () => `predictResident: halo ${halo.from} → ${halo.to} outside the run`);
      receiving[i] = (receiving[i] as number) + haloMs(devices, halo.from, halo.to, halo.bytes);
      peerBytes += halo.bytes;
      messages++;
    }
    const perDevice = layerMs[k] as number[];
    t += Math.max(0, ...run.devices.map((_, i) => (receiving[i] as number) + (perDevice[i] as number)));
  });
  run.devices.forEach((d, i) => {
    const bytes = run.gatherBytes[i] ?? 0;
    if (d === 0 || bytes <= 0) return;
    t += messageMs(devices[d] as DeviceProfile, bytes);
    bytesFromDevice[d] = bytes;
    messages++;
  });
  return { latencyMs: t, computeMs: compute, bytesToDevice, bytesFromDevice, peerBytes, messages };
}

/** What one inference measured for a device, to refresh its profile. */
export interface DeviceMeasurement {
  /** Measured compute ms for `flops` FLOPs in `layers` layer runs, if the device computed. */
  readonly compute?: { readonly flops: number; readonly layers: number; readonly ms: number };
  /** Measured link: a message of `bytes` took `ms` (send to acknowledgement, halved round trip). */
  readonly transfer?: { readonly bytes: number; readonly ms: number };
}

/**
 * [ours] Moving-average refresh of a profile from what an inference measured (ALGORITHMS.md §2),
 * so the next image is planned on fresh numbers. The fixed costs b and t_wake are kept, and a and
 * B are re-estimated from the measured time minus them, blended with weight `alpha` (default 0.3).
 */
export function refreshProfile(device: DeviceProfile, measured: DeviceMeasurement, alpha = 0.3): DeviceProfile {
  partitionAssert(alpha > 0 && alpha <= 1, 'ERR_PARTITION_ARGUMENT', () => `refreshProfile: alpha ${alpha} is outside (0, 1]`);
  let { aMsPerFlop, bandwidthBytesPerMs } = device;
  const compute = measured.compute;
  if (compute !== undefined && compute.flops > 0) {
    const observed = Math.max(compute.ms - device.bMs * compute.layers, 0) / compute.flops;
    if (observed > 0) aMsPerFlop = (1 - alpha) * aMsPerFlop + alpha * observed;
  }
  const transfer = measured.transfer;
  if (transfer !== undefined && transfer.bytes > 0) {
    const payloadMs = transfer.ms - device.wakeMs;
    if (payloadMs > 0) bandwidthBytesPerMs = (1 - alpha) * bandwidthBytesPerMs + alpha * (transfer.bytes / payloadMs);
  }
  return { ...device, aMsPerFlop, bandwidthBytesPerMs };
}
