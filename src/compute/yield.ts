/**
 * Gives the event loop a turn. A page that computes for seconds without one cannot answer its
 * data channel: the mesh's heartbeat goes unanswered and the peer is taken for gone (a hung phone
 * and a busy one look the same from outside). Long work calls this between layers.
 *
 * `await` on a settled promise is only a microtask, which lets no network event in; this queues a
 * task behind the ones already waiting. Not `scheduler.yield()`: its continuation is queued ahead
 * of other work of its priority, so the data channel's messages would keep waiting behind the
 * next layer (measured: workers building VGG-16 that way went 2.7 s without answering). Not
 * `setTimeout(0)`: clamped to ≥ 4 ms when nested, and to once a second in a hidden tab.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
