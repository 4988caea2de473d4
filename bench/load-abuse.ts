/**
 * Room-level abuse for `npm run load:signaling`: signalling into another room, a spoofed sender,
 * taking over a room id, guessing a join key, and joining a full room.
 */
import { SignalingSocket } from './load-client.ts';
import { answersOf, closeWithin, describeClose, liveRoom, waitFor, type ProbeContext, type ProbeResult } from './load-probe.ts';
import { roomEntries } from './load-rooms.ts';
import { candidate } from './load-traffic.ts';

const WAIT_MS = 3_000;

async function crossRoom(ctx: ProbeContext): Promise<ProbeResult> {
  const victim = await liveRoom(ctx.url);
  const own = await liveRoom(ctx.url);
  const attacker = await own.join();
  const stranger = new SignalingSocket(ctx.url);
  await stranger.opened;
  const froms: string[] = [];
  own.owner.onSignal = (from) => froms.push(from);

  attacker.socket.signal(victim.ownerId, candidate(1, 0)); // into another room
  attacker.socket.send({ type: 'signal', to: own.ownerId, data: candidate(2, 0), from: victim.ownerId }); // a forged sender
  stranger.signal(victim.ownerId, candidate(3, 0)); // from no room at all
  attacker.socket.signal(own.ownerId, candidate(4, 0)); // the control: a legitimate signal
  await waitFor(() => froms.length > 0 && attacker.socket.errors.counts.size >= 2 && stranger.errors.counts.size > 0, WAIT_MS);

  const victimReceived = victim.owner.signalsReceived;
  const stampedRight = froms.length === 1 && froms[0] === attacker.peerId;
  await Promise.all([victim.owner.leave(), own.owner.leave(), attacker.socket.leave(), stranger.leave()]);
  return {
    name: 'signal into another room / forged sender',
    sent: 'a worker signals the owner of another room; the same worker sends a signal with its own "from"; a connection in no room signals that owner; then one legitimate signal',
    expected: 'ERR_UNKNOWN_PEER, ERR_MALFORMED, ERR_NOT_IN_ROOM; the other room receives nothing; the legitimate signal arrives stamped with the true sender',
    observed: `the other room's owner received ${victimReceived}; answers ${JSON.stringify(answersOf(attacker.socket, stranger))}; the legitimate signal ${stampedRight ? 'arrived stamped with the true sender' : `arrived as ${JSON.stringify(froms)}`}`,
    answers: answersOf(attacker.socket, stranger),
    pass:
      victimReceived === 0 &&
      attacker.socket.errors.get('ERR_UNKNOWN_PEER') === 1 &&
      attacker.socket.errors.get('ERR_MALFORMED') === 1 &&
      stranger.errors.get('ERR_NOT_IN_ROOM') === 1 &&
      stampedRight,
  };
}

async function roomTakeover(ctx: ProbeContext): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const impostor = await roomEntries();
  const withoutKeys = new SignalingSocket(ctx.url);
  const withJoinKey = new SignalingSocket(ctx.url);
  const outcomes = await Promise.all([
    withoutKeys.enter({ ...impostor.host, roomId: room.entries.host.roomId }).then(() => 'welcomed', (e: Error) => e.message),
    // A worker knows the join token; the owner token is the owner tab's alone.
    withJoinKey.enter({ ...impostor.host, roomId: room.entries.host.roomId, joinToken: room.entries.join.joinToken }).then(() => 'welcomed', (e: Error) => e.message),
  ]);
  await Promise.all([closeWithin(withoutKeys, WAIT_MS), closeWithin(withJoinKey, WAIT_MS)]);
  const ownerKept = room.owner.isOpen && room.owner.fatalError === null;
  await room.owner.leave();
  return {
    name: 'take over a room id',
    sent: 'a host for an existing room id with other tokens; another with the right join token but a wrong owner token',
    expected: 'both refused with ERR_ROOM_TAKEN and closed (4000); the real owner keeps the room',
    observed: `${outcomes.map((o) => o.split(':')[0]).join(', ')}; closes ${describeClose(withoutKeys.closeInfo)}, ${describeClose(withJoinKey.closeInfo)}; the owner ${ownerKept ? 'kept the room' : 'was displaced'}`,
    answers: answersOf(withoutKeys, withJoinKey),
    pass: withoutKeys.fatalError?.code === 'ERR_ROOM_TAKEN' && withJoinKey.fatalError?.code === 'ERR_ROOM_TAKEN' && ownerKept,
  };
}

async function wrongKeys(ctx: ProbeContext): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const other = await roomEntries();
  const guesser = new SignalingSocket(ctx.url);
  const lost = new SignalingSocket(ctx.url);
  await Promise.all([
    guesser.enter({ ...other.join, roomId: room.entries.join.roomId }).catch(() => {}),
    lost.enter(other.join).catch(() => {}),
  ]);
  await Promise.all([closeWithin(guesser, WAIT_MS), closeWithin(lost, WAIT_MS)]);
  const ownerTold = room.owner.errors.counts.size > 0;
  await room.owner.leave();
  return {
    name: 'wrong join key / no such room',
    sent: 'a join with a wrong token for a live room; a join for a room that does not exist',
    expected: 'ERR_BAD_KEY and ERR_NO_ROOM, each closed (4000); the owner hears nothing',
    observed: `${guesser.fatalError?.code ?? 'no error'} (${describeClose(guesser.closeInfo) ?? 'open'}), ${lost.fatalError?.code ?? 'no error'} (${describeClose(lost.closeInfo) ?? 'open'})`,
    answers: answersOf(guesser, lost),
    pass: guesser.fatalError?.code === 'ERR_BAD_KEY' && lost.fatalError?.code === 'ERR_NO_ROOM' && guesser.closeInfo?.code === 4000 && !ownerTold,
  };
}

async function roomFull(ctx: ProbeContext): Promise<ProbeResult> {
  const room = await liveRoom(ctx.url);
  const attempts = ctx.caps.maxPeersPerRoom;
  const sockets = Array.from({ length: attempts }, () => new SignalingSocket(ctx.url));
  // One after another, so which joins are refused does not depend on arrival order.
  const welcomed: SignalingSocket[] = [];
  for (const socket of sockets) {
    if (await socket.enter(room.entries.join).then(() => true, () => false)) welcomed.push(socket);
  }
  const refused = sockets.filter((s) => !welcomed.includes(s));
  await Promise.all([...welcomed.map((s) => s.leave()), room.owner.leave(), ...refused.map((s) => closeWithin(s, WAIT_MS))]);
  const refusedCodes = refused.map((s) => `${s.fatalError?.code ?? 'no error'} (${describeClose(s.closeInfo) ?? 'open'})`);
  return {
    name: 'join a full room',
    sent: `${attempts} joins to a room of at most ${attempts} devices whose owner is present`,
    expected: `${attempts - 1} welcomed, the last refused with ERR_ROOM_FULL (4000)`,
    observed: `${welcomed.length} welcomed; refused: ${refusedCodes.join(', ') || 'none'}`,
    answers: answersOf(...refused),
    pass: welcomed.length === attempts - 1 && refused.length === 1 && refused[0]?.fatalError?.code === 'ERR_ROOM_FULL',
  };
}

/** Every room-level probe, run side by side. */
export function runAbuseProbes(ctx: ProbeContext): Promise<ProbeResult[]> {
  return Promise.all([crossRoom(ctx), roomTakeover(ctx), wrongKeys(ctx), roomFull(ctx)]);
}
