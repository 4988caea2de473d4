/** Tiny DOM helpers: create elements with text and attributes, never innerHTML with data. */
type Attrs = Record<string, string | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child !== null) el.append(child);
  return el;
}

export function formatBytesPerSec(bytesPerSec: number | null): string {
  if (bytesPerSec === null) return '–';
  return `${(bytesPerSec / 1e6).toFixed(bytesPerSec < 1e7 ? 1 : 0)} MB/s`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export const shortId = (id: string): string => id.slice(0, 6);
