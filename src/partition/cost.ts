import { partitionAssert } from './errors.ts';

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
    messages: workers.reduce((count, d) => count + (sends[d]?.length ?? 0) + (returns[d]?.length ?? 0), 0),
  };
}

/** A step the owner runs alone: `layers` layer runs totalling `flops`. */
export function predictOwnerOnly(devices: readonly DeviceProfile[], flops: number, layers = 1): StepPrediction {
  const owner = devices[0] as DeviceProfile;
  const zeros = devices.map(() => 0);
  const compute = devices.map((_, d) => (d === 0 ? computeMs(owner, flops, layers) : 0));
  return { latencyMs: compute[0] as number, computeMs: compute, bytesToDevice: zeros, bytesFromDevice: zeros, messages: 0 };
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
