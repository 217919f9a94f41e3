/**
 * The built-in servers a trials run uses when no --signal URL is given: a signaling server on
 * 127.0.0.1 and an RFC 5780 STUN server on 127.0.0.1/127.0.0.2 (all of 127.0.0.0/8 is on `lo`),
 * both on free ports, in this process. Closed together when the run ends.
 */
import { startStunServer, type StunServer } from '../server/index.js';
import { startSignalingServer, type SignalingServer } from '../signaling/index.js';
import type { EmbeddedServers } from '../peer/trials.js';

/** Started by the CLI (the layer allowed to wire servers and peers together) and injected into runTrials. */
export async function startBuiltInServers(): Promise<EmbeddedServers> {
  // Trials open many connections from one address in a burst; per-source STUN rate limiting
  // would turn a load test into a rate-limit test.
  const stun: StunServer = await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port: 0, rateLimit: false });
  let signaling: SignalingServer;
  try {
    signaling = await startSignalingServer({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    await stun.close();
    throw error;
  }
  return {
    signalUrl: signaling.url,
    stunServer: { address: stun.addresses.primary.address, port: stun.addresses.primary.port },
    async close() {
      await Promise.allSettled([signaling.close(), stun.close()]);
    },
  };
}
