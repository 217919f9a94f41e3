import { afterEach, describe, expect, it } from 'vitest';
import { attr, decodeMessage, encodeMessage, newTransactionId, StunMethod, type StunMessage } from '../../src/stun/index.js';
import {
  RttEstimator,
  StunTransactions,
  TransactionCancelledError,
  TransactionTimeoutError,
  UdpEndpoint,
  type ReceivedDatagram,
} from '../../src/transport/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { EventQueue, withinMs } from '../helpers/events.js';

const open: Array<UdpEndpoint | StunTransactions> = [];
afterEach(async () => {
  for (const item of open.splice(0)) {
    if (item instanceof StunTransactions) item.close();
    else await item.close();
  }
});

async function endpoint(): Promise<UdpEndpoint> {
  const e = await UdpEndpoint.bind({ address: '127.0.0.1' });
  open.push(e);
  return e;
}

function bindingRequest(): StunMessage {
  return { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [] };
}

/** A tiny responder: answers Binding requests with XOR-MAPPED-ADDRESS unless `drop` says not to. */
async function responder(drop: (count: number) => boolean = () => false) {
  const server = await endpoint();
  const received = new EventQueue<ReceivedDatagram>();
  let count = 0;
  server.onDatagram((datagram) => {
    count++;
    received.push(datagram);
    if (drop(count)) return;
    const request = decodeMessage(datagram.data);
    void server.send(
      encodeMessage({
        class: 'successResponse',
        method: request.method,
        transactionId: request.transactionId,
        attributes: [attr('XOR-MAPPED-ADDRESS', datagram.from)],
      }),
      datagram.from,
    );
  });
  return { server, received };
}

describe('StunTransactions over real loopback sockets', () => {
  it('matches a response to its request and returns the mapped address', async () => {
    const { server } = await responder();
    const client = await endpoint();
    const transactions = new StunTransactions(client);
    open.push(transactions);
    const result = await withinMs(transactions.request(bindingRequest(), server.local), 2000, 'a response');
    expect(result.response.class).toBe('successResponse');
    expect(result.response.attributes[0]).toMatchObject({ name: 'XOR-MAPPED-ADDRESS', value: { address: '127.0.0.1', port: client.local.port } });
    expect(result.attempts).toBe(1);
    expect(transactions.rtt.sampleCount).toBe(1);
  });

  it('demultiplexes many concurrent transactions on one socket', async () => {
    const { server } = await responder();
    const client = await endpoint();
    const transactions = new StunTransactions(client);
    open.push(transactions);
    const requests = Array.from({ length: 50 }, () => bindingRequest());
    const results = await withinMs(Promise.all(requests.map((r) => transactions.request(r, server.local))), 3000, '50 responses');
    results.forEach((result, i) => expect(result.response.transactionId).toEqual(requests[i]!.transactionId));
    expect(transactions.inFlight).toBe(0);
  });

  it('retransmits when the first request is lost, and does not sample RTT from it (Karn)', async () => {
    const clock = new FakeClock();
    const { server, received } = await responder((count) => count === 1);
    const client = await endpoint();
    const transactions = new StunTransactions(client, { clock });
    open.push(transactions);
    const pending = transactions.request(bindingRequest(), server.local, { rtoMs: 100 });
    await received.next(2000, 'the first send');
    await clock.advanceAsync(100);
    await received.next(2000, 'the retransmission');
    const result = await withinMs(pending, 2000, 'the answer to the retransmission');
    expect(result.attempts).toBe(2);
    expect(transactions.rtt.sampleCount).toBe(0);
    expect(transactions.stats.retransmissions).toBe(1);
  });

  it('follows the RFC 8489 schedule (0, RTO, 3·RTO) and gives up Rm·RTO after the last send', async () => {
    const clock = new FakeClock();
    const silent = await endpoint();
    const received = new EventQueue<ReceivedDatagram>();
    silent.onDatagram(received.push);
    const client = await endpoint();
    const transactions = new StunTransactions(client, { clock });
    open.push(transactions);
    let settled: unknown;
    const pending = transactions
      .request(bindingRequest(), silent.local, { rtoMs: 100, maxAttempts: 3, finalWaitMultiplier: 2 })
      .catch((error: unknown) => (settled = error));
    await received.next(2000, 'send 1');
    await clock.advanceAsync(99);
    expect(received.size).toBe(0);
    await clock.advanceAsync(1);
    await received.next(2000, 'send 2 at 100 ms');
    await clock.advanceAsync(200);
    await received.next(2000, 'send 3 at 300 ms');
    await clock.advanceAsync(199);
    expect(settled).toBeUndefined();
    await clock.advanceAsync(1);
    await pending;
    expect(settled).toBeInstanceOf(TransactionTimeoutError);
    expect((settled as TransactionTimeoutError).attempts).toBe(3);
    expect((settled as TransactionTimeoutError).code).toBe('stun-timeout');
    expect(clock.pendingTimers).toBe(0);
  });

  it('honours a deadline shorter than the schedule', async () => {
    const clock = new FakeClock();
    const silent = await endpoint();
    const client = await endpoint();
    const transactions = new StunTransactions(client, { clock });
    open.push(transactions);
    const pending = transactions.request(bindingRequest(), silent.local, { rtoMs: 100, deadlineMs: 250 });
    const outcome = pending.catch((error: unknown) => error);
    await clock.advanceAsync(250);
    expect(await outcome).toBeInstanceOf(TransactionTimeoutError);
    expect(clock.pendingTimers).toBe(0);
  });

  it('cancels on abort and on close', async () => {
    const silent = await endpoint();
    const client = await endpoint();
    const transactions = new StunTransactions(client);
    const controller = new AbortController();
    const aborted = transactions.request(bindingRequest(), silent.local, { signal: controller.signal }).catch((e: unknown) => e);
    const closed = transactions.request(bindingRequest(), silent.local).catch((e: unknown) => e);
    controller.abort();
    expect(await aborted).toBeInstanceOf(TransactionCancelledError);
    transactions.close();
    expect(await closed).toBeInstanceOf(TransactionCancelledError);
  });

  it('hands requests, non-STUN data and malformed STUN to unmatched listeners without crashing', async () => {
    const client = await endpoint();
    const transactions = new StunTransactions(client);
    open.push(transactions);
    const unmatched = new EventQueue<{ kind: string }>();
    transactions.onUnmatched((_, message) => unmatched.push({ kind: message ? message.class : 'raw' }));
    const peer = await endpoint();
    await peer.send(encodeMessage(bindingRequest()), client.local);
    expect((await unmatched.next()).kind).toBe('request');
    await peer.send(Buffer.from([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]), client.local);
    expect((await unmatched.next()).kind).toBe('raw');
    const bad = Buffer.from(encodeMessage(bindingRequest(), { fingerprint: true }));
    bad[bad.length - 1]! ^= 0xff;
    await peer.send(bad, client.local);
    expect((await unmatched.next()).kind).toBe('raw');
    expect(transactions.stats.malformed).toBe(1);
  });
});

describe('RttEstimator', () => {
  it('starts at the initial RTO, then tracks about twice the RTT, within bounds', () => {
    const rtt = new RttEstimator({ initialRtoMs: 500, minRtoMs: 20, maxRtoMs: 3000 });
    expect(rtt.rtoMs).toBe(500);
    rtt.sample(40);
    expect(rtt.rtoMs).toBe(120); // SRTT + 4·RTTVAR = 40 + 80 on the first sample
    for (let i = 0; i < 50; i++) rtt.sample(40);
    expect(rtt.rtoMs).toBeGreaterThanOrEqual(80);
    expect(rtt.rtoMs).toBeLessThan(90);
    const fast = new RttEstimator({ minRtoMs: 20 });
    fast.sample(0.2);
    expect(fast.rtoMs).toBe(20);
    const slow = new RttEstimator({ maxRtoMs: 3000 });
    slow.sample(5000);
    expect(slow.rtoMs).toBe(3000);
  });

  it('ignores nonsense samples', () => {
    const rtt = new RttEstimator();
    rtt.sample(-1);
    rtt.sample(Number.NaN);
    expect(rtt.sampleCount).toBe(0);
  });
});
