/**
 * Gives the event loop a turn. A page that computes for seconds without one cannot answer its
 * data channel: the mesh's heartbeat goes unanswered and the peer is taken for gone (a hung phone
 * and a busy one look the same from outside). Long work calls this between layers.
 *
 * `await` on a settled promise is only a microtask, which does not let a network event in; this
 * schedules a task. `scheduler.yield()` (Chromium 129+) resumes ahead of other queued work; a
 * MessageChannel message is the fallback, because `setTimeout(0)` is clamped to ≥ 4 ms when nested
 * and to once a second in a hidden tab.
 */
interface Scheduler {
  yield(): Promise<void>;
}

export function yieldToEventLoop(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: Partial<Scheduler> }).scheduler;
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
