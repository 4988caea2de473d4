/** A stamp of the machine a benchmark ran on, written into every report. */
import os from 'node:os';

export interface MachineStamp {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** Null for benchmarks that run in Node only. */
  browser: string | null;
}

export function machineStamp(browserVersion: string | null = null): MachineStamp {
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    browser: browserVersion,
  };
}

export function stampMarkdown(m: MachineStamp): string {
  const browser = m.browser ? `; Chromium ${m.browser} (headless)` : '';
  return `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}${browser}; ${m.date}.`;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
