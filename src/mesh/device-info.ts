/** What a page says about its device in the hello: a readable name, offered backends, cores, memory. */
import type { BackendName, DeviceInfo } from './control.ts';

interface UAData {
  mobile?: boolean;
  platform?: string;
  getHighEntropyValues?(hints: string[]): Promise<{ model?: string; platformVersion?: string }>;
}

/** A short readable name from the user agent, e.g. "Android 14 phone · Chrome", "iPhone · Safari". */
export function deviceNameFromUserAgent(ua: string): string {
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const android = /Android (\d+)/.exec(ua);
  if (android) {
    // Android UAs often name the model before "Build/" or ")" ("Pixel 7", "SM-S911B"); "K" is Chrome's reduced UA.
    const model = /Android [\d.]+; ([^;)]+?)(?: Build\/|\))/.exec(ua)?.[1];
    const device = model && model !== 'K' ? model : `Android ${android[1]} device`;
    return `${device} · ${browser}`;
  }
  if (/iPhone/.test(ua)) return `iPhone · ${browser}`;
  if (/iPad/.test(ua)) return `iPad · ${browser}`;
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'Mac' : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : 'computer';
  return `${browser} on ${os}`;
}

/** Which TF.js backends this browser could run, most capable first (feature checks, not benchmarks). */
export function offeredBackends(): BackendName[] {
  const backends: BackendName[] = [];
  if ('gpu' in navigator) backends.push('webgpu');
  try {
    const canvas = document.createElement('canvas');
    if (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) backends.push('webgl');
  } catch {
    // no WebGL
  }
  if (typeof WebAssembly === 'object') backends.push('wasm');
  backends.push('cpu');
  return backends;
}

const DEVICE_ID_KEY = 'modnn.deviceId';

/** Stable for this tab across reloads (sessionStorage), distinct for each tab. */
function tabDeviceId(): string {
  let id = sessionStorage.getItem(DEVICE_ID_KEY);
  if (!id) {
    id = crypto.randomUUID().replace(/-/g, '');
    sessionStorage.setItem(DEVICE_ID_KEY, id);
  }
  return id;
}

export async function describeThisDevice(): Promise<DeviceInfo> {
  const ua = navigator.userAgent;
  let name = deviceNameFromUserAgent(ua);
  const uaData = (navigator as Navigator & { userAgentData?: UAData }).userAgentData;
  try {
    const model = (await uaData?.getHighEntropyValues?.(['model']))?.model;
    if (model) name = `${model} · ${name.split(' · ').at(-1) ?? ''}`.replace(/ · $/, '');
  } catch {
    // the browser declined; the UA-based name stays
  }
  const memoryGb = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return {
    deviceId: tabDeviceId(),
    name: name.slice(0, 80),
    backends: offeredBackends(),
    cores: Number.isInteger(navigator.hardwareConcurrency) && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : null,
    memoryGb: typeof memoryGb === 'number' ? memoryGb : null,
    userAgent: ua.slice(0, 400),
  };
}
