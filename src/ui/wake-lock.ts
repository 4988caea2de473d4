/**
 * Keeps the screen on while this page serves as a worker (Screen Wake Lock API, where the
 * browser offers it). The lock is released whenever the page is hidden, so it is taken again
 * when the page becomes visible.
 */
export type WakeLockState = 'unsupported' | 'held' | 'released' | 'refused';

export function keepScreenOn(onState: (state: WakeLockState) => void): () => void {
  const wakeLock = (navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<WakeLockSentinel> } }).wakeLock;
  if (!wakeLock) {
    onState('unsupported');
    return () => {};
  }
  let sentinel: WakeLockSentinel | null = null;
  let stopped = false;
  const acquire = async () => {
    if (stopped || document.visibilityState !== 'visible' || (sentinel && !sentinel.released)) return;
    try {
      sentinel = await wakeLock.request('screen');
      onState('held');
      sentinel.addEventListener('release', () => {
        if (!stopped) onState('released');
      });
    } catch {
      onState('refused');
    }
  };
  const onVisibility = () => void acquire();
  document.addEventListener('visibilitychange', onVisibility);
  void acquire();
  return () => {
    stopped = true;
    document.removeEventListener('visibilitychange', onVisibility);
    void sentinel?.release();
  };
}
