/** How numbers read on the pages: one set of formatters for every card and the timeline. Pure. */

/** Milliseconds, to 0.1 ms below 10 ms, whole ms up to 10 s, then seconds; '–' when unknown. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  const a = Math.abs(ms);
  if (a >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return a < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** Bytes in B, kB or MB (decimal units). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(bytes < 1e4 ? 1 : 0)} kB`;
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
}

export function formatBytesPerSec(bytesPerSec: number | null): string {
  if (bytesPerSec === null) return '–';
  return `${(bytesPerSec / 1e6).toFixed(bytesPerSec < 1e7 ? 1 : 0)} MB/s`;
}
