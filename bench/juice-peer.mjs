/**
 * One node-datachannel (libjuice) peer for bench/ice-delay.bench.ts, run inside a lab client
 * namespace: `node bench/juice-peer.mjs offer|answer STUN_URL NAME`.
 *
 * Its signaling is a line protocol on stdio, relayed by the bench (which holds each message for
 * the one-way signaling delay of the lab): stdout carries {"kind":"ready"}, {"kind":"sdp"},
 * {"kind":"candidate"} and {"kind":"ice","state","t"} (t: ms since the Unix epoch, from
 * performance.timeOrigin, so the bench can compare times across processes); stdin carries
 * {"kind":"go"} (the offerer creates its offer), the other side's {"kind":"sdp"} and
 * {"kind":"candidate"}. It exits once its ICE state is connected/completed (after a short grace
 * for the other side's checks), failed, or after BOUND_MS.
 */
import ndc from 'node-datachannel';
import { createInterface } from 'node:readline';

const [role, stun, name] = process.argv.slice(2);
const BOUND_MS = 20_000;
/** After connected, keep answering the other side's checks so it can reach connected too. */
const GRACE_MS = 3_000;
const now = () => performance.timeOrigin + performance.now();
const out = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

const pc = new ndc.PeerConnection(name, { iceServers: [stun], enableIceUdpMux: false });
pc.onLocalDescription((sdp, type) => out({ kind: 'sdp', sdp, type }));
pc.onLocalCandidate((candidate, mid) => out({ kind: 'candidate', candidate, mid }));
let ended = false;
const end = (code) => {
  if (ended) return;
  ended = true;
  setTimeout(() => {
    pc.close();
    ndc.cleanup();
    process.exit(code);
  }, code === 0 ? GRACE_MS : 0);
};
pc.onIceStateChange((state) => {
  out({ kind: 'ice', state, t: now() });
  if (state === 'connected' || state === 'completed') end(0);
  if (state === 'failed') end(1);
});
setTimeout(() => {
  out({ kind: 'timeout', t: now() });
  end(1);
}, BOUND_MS).unref();

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const message = JSON.parse(line);
  if (message.kind === 'go' && role === 'offer') pc.createDataChannel('bench');
  else if (message.kind === 'sdp') pc.setRemoteDescription(message.sdp, message.type);
  else if (message.kind === 'candidate') pc.addRemoteCandidate(message.candidate, message.mid);
});
lines.on('close', () => end(1));
out({ kind: 'ready', t: now() });
