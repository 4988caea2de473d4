/**
 * For tests: an owner's mesh whose workers are real WorkerExecutors on in-memory links, each
 * claiming the compute speed and memory the test gives it. Counts the profile requests each gets.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { MessageLink, memoryTransportPair, type PeerView } from '../mesh/index.ts';
import type { OwnerMeshLike } from './classifier.ts';
import { RuntimeMethod } from './protocol.ts';
import { WorkerExecutor } from './worker-executor.ts';

export interface TestMeshOptions {
  /** What each worker's profile claims (what it really does is measured during inference). Default 1e-5 ms/FLOP. */
  msPerFlop?: (id: string) => number;
  /** What each worker's browser reports as its memory, GB (null: nothing). Default null. */
  memoryGb?: (id: string) => number | null;
  /** Workers cannot link to each other (resident runs then go as fused blocks). */
  noPeerLinks?: boolean;
}

export function testMesh(tf: typeof tfjs, ids: string[], options: TestMeshOptions = {}): OwnerMeshLike & { profileRequests: Map<string, number>; executors: Map<string, WorkerExecutor>; links: Map<string, MessageLink> } {
  const msPerFlop = options.msPerFlop ?? (() => 1e-5);
  const memoryGb = options.memoryGb ?? (() => null);
  const links = new Map<string, MessageLink>();
  const profileRequests = new Map<string, number>();
  const executors = new Map<string, WorkerExecutor>();
  // Direct worker↔worker links, made when a worker first asks for one (as the mesh's neighbour links are).
  const peerLinks = new Map<string, MessageLink>();
  const linkBetween = (from: string, to: string): MessageLink => {
    let link = peerLinks.get(`${from}>${to}`);
    if (!link) {
      const [x, y] = memoryTransportPair();
      const there = executors.get(to) as WorkerExecutor;
      const here = executors.get(from) as WorkerExecutor;
      link = new MessageLink(x);
      const back = new MessageLink(y);
      link.setRequestHandler((r) => here.handle(r, to));
      back.setRequestHandler((r) => there.handle(r, from));
      peerLinks.set(`${from}>${to}`, link);
      peerLinks.set(`${to}>${from}`, back);
    }
    return link;
  };
  for (const id of ids) {
    const [a, b] = memoryTransportPair();
    const executor = new WorkerExecutor({
      tf,
      profiler: () => Promise.resolve({ backend: 'cpu', adapter: null, aMsPerFlop: msPerFlop(id), bMs: 0.1 }),
      neighbours: {
        connect: (peerId) => (executors.has(peerId) && !options.noPeerLinks ? Promise.resolve() : Promise.reject(new Error(`no direct link to ${peerId}`))),
        request: (peerId, meta, tensors, requestOptions) => linkBetween(id, peerId).request(meta, tensors, requestOptions),
      },
    });
    executors.set(id, executor);
    new MessageLink(b).setRequestHandler((r) => executor.handle(r, 'owner'));
    links.set(id, new MessageLink(a));
  }
  const peer = (peerId: string): PeerView => ({
    peerId,
    state: 'ready',
    device: { deviceId: `device-${peerId}`, name: peerId, backends: ['cpu'], cores: 4, memoryGb: memoryGb(peerId), userAgent: 'test' },
    rttMs: 1,
    clockOffsetMs: 0,
    throughputBytesPerSec: 50e6,
    stats: { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 },
    reason: null,
    authCode: '123 456',
    relayed: false,
  });
  return {
    profileRequests,
    executors,
    links,
    readyPeers: () => ids.map(peer),
    request: (peerId, meta, tensors, requestOptions) => {
      if ((meta as { method?: string }).method === RuntimeMethod.Profile) profileRequests.set(peerId, (profileRequests.get(peerId) ?? 0) + 1);
      return (links.get(peerId) as MessageLink).request(meta, tensors, requestOptions);
    },
  };
}
