/**
 * TURN over IPv6 loopback: coturn on [::1] relaying on ::1. Without REQUESTED-ADDRESS-FAMILY a
 * server asked over IPv6 still relays IPv4 (RFC 8656 §7.1), which this coturn cannot: 440.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, parseTurnUrl } from '../../src/turn/index.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { EventQueue } from '../helpers/events.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';
import { startEchoPeer, type EchoPeer } from './echo-peer.js';

const skip = skipUnlessTools(toolGate(['turnserver']), 'TURN client over IPv6 against coturn');
const credentials = { username: 'erin', password: 'erin-pass' };

describe.skipIf(skip)('TURN client over IPv6 loopback', () => {
  let coturn: CoturnTurn;
  let echo: EchoPeer;
  beforeAll(async () => {
    coturn = await startCoturnTurn({ listen: '::1', users: [{ name: credentials.username, password: credentials.password }] });
    echo = await startEchoPeer('::1');
  });
  afterAll(async () => {
    await echo?.close();
    await coturn?.stop();
  });

  it('the default (IPv4) relay is refused with 440 turn-address-family, whose advice names --relay-family', async () => {
    await expect(allocate({ server: parseTurnUrl(coturn.url), credentials, timeoutMs: 3000 })).rejects.toMatchObject({
      code: 'turn-address-family',
      message: expect.stringMatching(/440 Unsupported address family: .*--relay-family/),
    });
  });

  it.each(['udp', 'tcp'] as const)('relayFamily 6 over %s: an IPv6 relayed address, and a channel round trip to [::1]', async (transport) => {
    const allocation = await allocate({ server: parseTurnUrl(`${coturn.url}?transport=${transport}`), credentials, relayFamily: 6, timeoutMs: 3000 });
    try {
      expect(allocation.relayed).toMatchObject({ family: 6, address: '::1' });
      const received = new EventQueue<string>();
      allocation.onData((data, from) => received.push(`${Buffer.from(data).toString()}@${from.address}`));
      await allocation.bindChannel(echo.endpoint.local);
      await allocation.send(Buffer.from('v6'), echo.endpoint.local);
      expect(await received.next(2000, 'the IPv6 echo')).toBe('v6@::1');
    } finally {
      await allocation.close();
    }
  });
});
