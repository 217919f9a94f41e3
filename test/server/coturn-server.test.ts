/**
 * Interop the other way: a real coturn (--stun-only, two addresses, RFC 5780) answering our
 * StunTransactions client, and the same requests against our server for comparison.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStunServer, type StunServer } from '../../src/server/index.js';
import { StunMethod, attr, getAttribute, newTransactionId, type StunAttribute, type StunMessage } from '../../src/stun/index.js';
import { StunTransactions, UdpEndpoint } from '../../src/transport/index.js';
import { withinMs } from '../helpers/events.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';

const skip = skipUnlessTools(toolGate(['turnserver']), 'coturn server interop');

function bindingRequest(attributes: StunAttribute[] = []): StunMessage {
  return { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes };
}

describe.skipIf(skip)('our client against a real coturn, and coturn beside our server', () => {
  let coturn: Coturn | undefined;
  let ours: StunServer | undefined;
  let endpoint: UdpEndpoint | undefined;
  let transactions: StunTransactions | undefined;

  beforeAll(async () => {
    coturn = await startCoturn({ listen: ['127.0.0.1', '127.0.0.2'] });
  });
  afterAll(async () => {
    await coturn?.stop();
  });
  afterEach(async () => {
    transactions?.close();
    await endpoint?.close();
    endpoint = undefined;
    transactions = undefined;
    await ours?.close();
    ours = undefined;
  });

  async function ask(to: { address: string; port: number }, attributes: StunAttribute[] = []) {
    if (!endpoint) {
      endpoint = await UdpEndpoint.bind({ address: '127.0.0.1' });
      transactions = new StunTransactions(endpoint, { defaults: { rtoMs: 200, maxAttempts: 3 } });
    }
    return withinMs(transactions!.request(bindingRequest(attributes), to), 3000, `an answer from ${to.address}:${to.port}`);
  }

  it('coturn answers with the right XOR-MAPPED-ADDRESS and an OTHER-ADDRESS differing in IP and port', async () => {
    const server = { address: '127.0.0.1', port: coturn!.port };
    const result = await ask(server);
    expect(getAttribute(result.response, 'XOR-MAPPED-ADDRESS')).toEqual({ family: 4, address: '127.0.0.1', port: endpoint!.local.port });
    const other = getAttribute(result.response, 'OTHER-ADDRESS');
    expect(other).toBeDefined();
    expect(other!.address).not.toBe(server.address);
    expect(other!.port).not.toBe(server.port);
    expect(other).toEqual({ family: 4, address: '127.0.0.2', port: coturn!.altPort });
  });

  it.each([
    { flags: { changeIp: true, changePort: true }, address: '127.0.0.2', alt: true },
    { flags: { changeIp: false, changePort: true }, address: '127.0.0.1', alt: true },
    { flags: { changeIp: true, changePort: false }, address: '127.0.0.2', alt: false },
  ])('coturn answers CHANGE-REQUEST $flags from the changed address', async ({ flags, address, alt }) => {
    const result = await ask({ address: '127.0.0.1', port: coturn!.port }, [attr('CHANGE-REQUEST', flags)]);
    const expected = { family: 4, address, port: alt ? coturn!.altPort : coturn!.port };
    expect(result.from).toEqual(expected);
    expect(getAttribute(result.response, 'RESPONSE-ORIGIN')).toEqual(expected);
  });

  it('our server and coturn agree on the mapped address and the changed source for the same client', async () => {
    ours = await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port: 0 });
    const fromCoturn = await ask({ address: '127.0.0.1', port: coturn!.port }, [attr('CHANGE-REQUEST', { changeIp: true, changePort: true })]);
    const fromOurs = await ask(ours.addresses.primary, [attr('CHANGE-REQUEST', { changeIp: true, changePort: true })]);
    expect(getAttribute(fromOurs.response, 'XOR-MAPPED-ADDRESS')).toEqual(getAttribute(fromCoturn.response, 'XOR-MAPPED-ADDRESS'));
    expect(getAttribute(fromOurs.response, 'MAPPED-ADDRESS')).toEqual(getAttribute(fromCoturn.response, 'MAPPED-ADDRESS'));
    // Both answer from A2:P2 and say so in RESPONSE-ORIGIN.
    expect(fromCoturn.from.address).toBe('127.0.0.2');
    expect(fromOurs.from).toEqual(ours.addresses.alternateIpAndPort);
    expect(getAttribute(fromOurs.response, 'RESPONSE-ORIGIN')).toEqual(fromOurs.from);
  });
});
