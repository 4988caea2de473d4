/**
 * Emulated phones on one machine (../shared/PLATFORM.md): each phone is its own Chromium in its
 * own cgroup v1 CPU quota, optionally in its own network namespace joined to a bridge by a veth
 * pair whose two ends are shaped with `tbf`. Everything created here is recorded and removed by
 * `cleanup()`, which also runs on exit and on SIGINT/SIGTERM/uncaught errors.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumExecutable, deviceContextOptions } from '../e2e/browser.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CPU_ROOT = '/sys/fs/cgroup/cpu';
const WRAPPER = path.join(root, 'scripts', 'bench-chromium.sh');
/**
 * CFS period of a phone's quota: 10 ms, so that a phone out of quota waits at most a few ms (every
 * message crosses several of its processes, all in the quota); longer only where the kernel's
 * minimum quota of 1 ms needs it (a phone below 10% of a core).
 */
const CFS_PERIOD_US = 10_000;
const MIN_QUOTA_US = 1_000;
const cfsPeriodUs = (fraction: number): number => Math.max(CFS_PERIOD_US, Math.ceil(MIN_QUOTA_US / fraction));
/** The bridge of the shaped topology and its subnet (phones get .10, .11, …). */
const BRIDGE = 'mbbr0';
const SUBNET = '10.77.0';
export const HUB_ADDRESS = `${SUBNET}.1`;

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export interface LinkShape {
  /** tbf rate each way on each phone's link, e.g. '40mbit'. */
  rate: string;
}

export interface Phone {
  name: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** The phone's CPU quota as a fraction of one core. */
  cpuFraction: number;
  setCpuFraction(fraction: number): void;
}

/**
 * Records every cgroup, namespace and browser this run creates, and removes them all: on
 * `cleanup()`, and from exit and signal handlers installed by `installHandlers()`.
 */
export class Sandbox {
  private readonly cgroups = new Set<string>();
  private readonly namespaces = new Set<string>();
  private readonly browsers = new Set<Browser>();
  private bridge = false;
  private phoneCount = 0;
  private readonly prefix = `modnn-bench-${process.pid}`;
  private cleaned = false;

  constructor() {
    if (process.getuid?.() !== 0) throw new Error('bench: needs root (cgroup v1 CPU quotas, network namespaces); see ../shared/PLATFORM.md');
    if (!existsSync(path.join(CPU_ROOT, 'cgroup.procs'))) throw new Error(`bench: cgroup v1 cpu controller not mounted at ${CPU_ROOT}`);
  }

  installHandlers(): void {
    process.on('exit', () => this.cleanupSync());
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        console.error(`\nbench: ${signal}: removing cgroups, namespaces and browsers`);
        this.cleanupSync();
        process.exit(130);
      });
    }
  }

  /** A CPU cgroup capped at `fraction` of one core. */
  cpuGroup(name: string, fraction: number): { path: string; set(fraction: number): void } {
    const dir = path.join(CPU_ROOT, `${this.prefix}-${name}`);
    mkdirSync(dir);
    this.cgroups.add(dir);
    const set = (f: number): void => {
      const period = cfsPeriodUs(f);
      writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), '-1'); // unlimited while the period changes
      writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(period));
      writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(Math.round(f * period)));
    };
    set(fraction);
    return { path: dir, set };
  }

  /** The bridge in this process's network namespace that shaped phones hang off. */
  private ensureBridge(): void {
    if (this.bridge) return;
    run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    this.bridge = true;
    run('ip', ['addr', 'add', `${HUB_ADDRESS}/24`, 'dev', BRIDGE]);
    run('ip', ['link', 'set', BRIDGE, 'up']);
  }

  /**
   * A network namespace for one phone, joined to the bridge by a veth pair; both ends shaped with
   * tbf at `shape.rate` (the phone's uplink and downlink). Returns its name and address.
   */
  networkNamespace(index: number, shape: LinkShape | null): { name: string; address: string } {
    this.ensureBridge();
    const name = `${this.prefix}-ns${index}`;
    run('ip', ['netns', 'add', name]);
    this.namespaces.add(name);
    const hubEnd = `mbh${process.pid % 10000}x${index}`.slice(0, 15);
    const phoneEnd = `mbp${index}`;
    const address = `${SUBNET}.${10 + index}`;
    run('ip', ['link', 'add', hubEnd, 'type', 'veth', 'peer', 'name', phoneEnd, 'netns', name]);
    run('ip', ['link', 'set', hubEnd, 'master', BRIDGE, 'up']);
    const inNs = (args: string[]) => run('ip', ['netns', 'exec', name, ...args]);
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    inNs(['ip', 'addr', 'add', `${address}/24`, 'dev', phoneEnd]);
    inNs(['ip', 'link', 'set', phoneEnd, 'up']);
    if (shape) {
      // burst: a few full-size packets at this rate; latency: how long a packet may queue before tbf drops it.
      const tbf = ['root', 'tbf', 'rate', shape.rate, 'burst', '64kb', 'latency', '100ms'];
      run('tc', ['qdisc', 'add', 'dev', hubEnd, ...tbf]);
      inNs(['tc', 'qdisc', 'add', 'dev', phoneEnd, ...tbf]);
    }
    return { name, address };
  }

  /**
   * Launches one emulated phone: Chromium through scripts/bench-chromium.sh in its own cgroup
   * (and namespace), one context with the permissions WebRTC needs, one page.
   */
  async launchPhone(name: string, cpuFraction: number, options: { netns?: string; secureOrigin?: string } = {}): Promise<Phone> {
    const group = this.cpuGroup(`${name}-${this.phoneCount++}`, cpuFraction);
    const executable = chromiumExecutable() ?? '/usr/lib/chromium/chromium';
    const args = CHROMIUM_ARGS.map((a) => (a.startsWith('--host-resolver-rules=') ? `${a} , EXCLUDE ${HUB_ADDRESS}` : a));
    // Plain HTTP to the bridge address is not a secure context; treat it as one, as localhost is.
    if (options.secureOrigin) args.push(`--unsafely-treat-insecure-origin-as-secure=${options.secureOrigin}`);
    const browser = await chromium.launch({
      executablePath: WRAPPER,
      args,
      env: {
        ...process.env,
        MODNN_BENCH_CHROMIUM: executable,
        MODNN_BENCH_CGROUP: group.path,
        MODNN_BENCH_NETNS: options.netns ?? '',
      },
      timeout: 120_000,
    });
    this.browsers.add(browser);
    const context = await browser.newContext({ ...deviceContextOptions, serviceWorkers: 'block' });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[${name}] page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/No available adapters|Service Worker registration blocked|offline app could not be installed/.test(msg.text())) {
        console.error(`[${name}] ${msg.type()}: ${msg.text()}`);
      }
    });
    const phone: Phone = {
      name,
      browser,
      context,
      page,
      cpuFraction,
      setCpuFraction(fraction: number) {
        group.set(fraction);
        phone.cpuFraction = fraction;
      },
    };
    return phone;
  }

  /** Closes browsers, then removes cgroups and namespaces. Safe to call twice. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.browsers].map((b) => b.close().catch(() => {})));
    this.browsers.clear();
    this.cleanupSync();
  }

  /** The synchronous part, also used from exit and signal handlers: kills what is left in our cgroups. */
  cleanupSync(): void {
    if (this.cleaned) return;
    for (const dir of this.cgroups) {
      for (let attempt = 0; attempt < 50; attempt++) {
        const pids = readPids(dir);
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL'); // a process in this run's own cgroup: a browser this run started
          } catch {
            /* already gone */
          }
        }
        try {
          rmdirSync(dir);
          break;
        } catch {
          execFileSync('sleep', ['0.1']);
        }
      }
      if (existsSync(dir)) console.error(`bench: could not remove ${dir}`);
    }
    this.cgroups.clear();
    for (const name of this.namespaces) {
      try {
        run('ip', ['netns', 'del', name]);
      } catch (err) {
        console.error(`bench: could not remove network namespace ${name}: ${(err as Error).message}`);
      }
    }
    this.namespaces.clear();
    if (this.bridge) {
      try {
        run('ip', ['link', 'del', BRIDGE]);
      } catch {
        /* gone with the namespace */
      }
      this.bridge = false;
    }
    if (this.browsers.size === 0) this.cleaned = true;
  }
}

function readPids(dir: string): number[] {
  try {
    return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Re-runs this process inside a private network namespace that has only loopback (as
 * scripts/in-private-netns.sh does for the e2e tests), unless it already is in one. Returns true
 * when the caller is the parent and should exit with the child's status (already set).
 */
export async function reexecInPrivateNetns(): Promise<boolean> {
  if (process.env['MODNN_BENCH_IN_NETNS'] === '1') return false;
  const { spawn } = await import('node:child_process');
  const child = spawn(
    'unshare',
    ['--net', '--', 'env', 'MODNN_BENCH_IN_NETNS=1', 'bash', '-c', 'ip link set lo up && exec "$@"', 'bash', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit' },
  );
  // The terminal's Ctrl-C reaches the child too; this parent only waits for it.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 130 : 1))));
  process.exitCode = code;
  return true;
}
