import { describe, expect, it } from 'vitest';
import {
  channelAuthKey,
  commitmentTo,
  fingerprintsOf,
  newNonce,
  proveChannel,
  shortAuthCode,
  transcriptFor,
  verifyChannelProof,
  type ChannelBinding,
} from './channel-auth.ts';

const OWNER_FP = 'sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00';
const WORKER_FP = 'sha-256 A0:B1:C2:D3:E4:F5:06:17:28:39:4A:5B:6C:7D:8E:9F:A0:B1:C2:D3:E4:F5:06:17:28:39:4A:5B:6C:7D:8E:9F';
const MITM_FP_1 = 'sha-256 DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF:DE:AD:BE:EF';
const MITM_FP_2 = 'sha-256 FE:ED:FA:CE:FE:ED:FA:CE:FE:ED:FA:CE:FE:ED:FA:CE:FE:ED:FA:CE:FE:ED:FA:CE:FE:ED:FA:CE:FE:ED:FA:CE';

/** Both sides' transcripts for a channel where the owner sees `ownerView` and the worker `workerView`. */
function transcripts(ownerView: ChannelBinding, workerView: ChannelBinding) {
  const ownerNonce = newNonce();
  const workerNonce = newNonce();
  return {
    owner: transcriptFor('owner', ownerView, { own: ownerNonce, peer: workerNonce }),
    worker: transcriptFor('worker', workerView, { own: workerNonce, peer: ownerNonce }),
  };
}
const direct = () => transcripts({ local: OWNER_FP, remote: WORKER_FP }, { local: WORKER_FP, remote: OWNER_FP });
/** A signaling server that swapped both SDPs and terminates DTLS on each leg itself. */
const swapped = () => transcripts({ local: OWNER_FP, remote: MITM_FP_1 }, { local: WORKER_FP, remote: MITM_FP_2 });

describe('fingerprintsOf', () => {
  it('reads and normalises the a=fingerprint lines of an SDP', () => {
    const sdp = [
      'v=0',
      'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
      'a=fingerprint:SHA-256 a0:b1:c2:d3:e4:f5:06:17:28:39:4a:5b:6c:7d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a:5b:6c:7d:8e:9f',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'a=fingerprint:SHA-256 a0:b1:c2:d3:e4:f5:06:17:28:39:4a:5b:6c:7d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a:5b:6c:7d:8e:9f',
      '',
    ].join('\r\n');
    expect(fingerprintsOf(sdp)).toBe(WORKER_FP);
  });

  it('sorts several certificates and says null for an SDP without any', () => {
    expect(fingerprintsOf(`a=fingerprint:sha-256 FE:ED\na=fingerprint:sha-1 00:11\n`)).toBe('sha-1 00:11,sha-256 FE:ED');
    expect(fingerprintsOf('v=0\r\na=setup:actpass\r\n')).toBeNull();
    expect(fingerprintsOf('a=fingerprint:sha-256 not-hex')).toBeNull();
  });
});

describe('channel proofs', () => {
  it('each side verifies the other’s proof on a direct channel, and both get the same short code', async () => {
    const key = await channelAuthKey('the-room-join-key-0123456789');
    const { owner, worker } = direct();
    expect(owner).toEqual(worker);
    const workerProof = await proveChannel(key, 'worker', worker);
    const ownerProof = await proveChannel(key, 'owner', owner);
    expect(await verifyChannelProof(key, 'worker', owner, workerProof)).toBe(true);
    expect(await verifyChannelProof(key, 'owner', worker, ownerProof)).toBe(true);
    const [ownerCode, workerCode] = await Promise.all([shortAuthCode(owner), shortAuthCode(worker)]);
    expect(ownerCode).toMatch(/^\d{3} \d{3}$/);
    expect(ownerCode).toBe(workerCode);
  });

  it('a proof made with another join key fails', async () => {
    const [key, wrongKey] = await Promise.all([channelAuthKey('the-room-join-key-0123456789'), channelAuthKey('a-guessed-key-9876543210abc')]);
    const { owner, worker } = direct();
    expect(await verifyChannelProof(key, 'worker', owner, await proveChannel(wrongKey, 'worker', worker))).toBe(false);
  });

  it('a proof from a channel whose SDP was swapped fails, even made with the right key, and the codes differ', async () => {
    const key = await channelAuthKey('the-room-join-key-0123456789');
    const { owner, worker } = swapped();
    // The man in the middle forwards the worker's proof (it cannot make one for its own leg without the key).
    expect(await verifyChannelProof(key, 'worker', owner, await proveChannel(key, 'worker', worker))).toBe(false);
    expect(await verifyChannelProof(key, 'owner', worker, await proveChannel(key, 'owner', owner))).toBe(false);
    expect(await shortAuthCode(owner)).not.toBe(await shortAuthCode(worker));
  });

  it('a proof for the other role, or a replayed one from another session, fails', async () => {
    const key = await channelAuthKey('the-room-join-key-0123456789');
    const first = direct();
    const second = direct();
    const ownerProof = await proveChannel(key, 'owner', first.owner);
    expect(await verifyChannelProof(key, 'worker', first.owner, ownerProof)).toBe(false);
    expect(await verifyChannelProof(key, 'owner', second.worker, ownerProof)).toBe(false);
  });

  it('a proof made on a link between workers does not check out on an owner’s link, nor the other way round', async () => {
    const key = await channelAuthKey('room-join-key-0123456789ab');
    const star = direct().owner;
    const neighbour = transcriptFor('owner', { local: star.ownerBinding, remote: star.workerBinding }, { own: star.ownerNonce, peer: star.workerNonce }, 'neighbour');
    expect(await verifyChannelProof(key, 'owner', neighbour, await proveChannel(key, 'owner', neighbour))).toBe(true);
    expect(await verifyChannelProof(key, 'owner', star, await proveChannel(key, 'owner', neighbour))).toBe(false);
    expect(await verifyChannelProof(key, 'owner', neighbour, await proveChannel(key, 'owner', star))).toBe(false);
  });

  it('anything malformed is a failed proof, not an exception', async () => {
    const key = await channelAuthKey('the-room-join-key-0123456789');
    const { owner } = direct();
    for (const bad of ['', 'x', '!'.repeat(43), 'A'.repeat(44), 'A'.repeat(43)]) {
      expect(await verifyChannelProof(key, 'worker', owner, bad)).toBe(false);
    }
  });

  it('a nonce commitment is fixed by the nonce and tells nothing else', async () => {
    const nonce = newNonce();
    expect(await commitmentTo(nonce)).toBe(await commitmentTo(nonce));
    expect(await commitmentTo(nonce)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await commitmentTo(newNonce())).not.toBe(await commitmentTo(nonce));
  });
});
