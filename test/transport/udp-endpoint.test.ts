import { afterEach, describe, expect, it } from 'vitest';
import { SocketError, UdpEndpoint, type ReceivedDatagram } from '../../src/transport/index.js';
import { EventQueue } from '../helpers/events.js';

const open: UdpEndpoint[] = [];
afterEach(async () => {
  for (const endpoint of open.splice(0)) await endpoint.close();
});

async function endpoint(): Promise<UdpEndpoint> {
  const e = await UdpEndpoint.bind({ address: '127.0.0.1' });
  open.push(e);
  return e;
}

interface Failure {
  error: SocketError;
  to: { address: string; port: number };
}

function failuresOf(e: UdpEndpoint): EventQueue<Failure> {
  const failures = new EventQueue<Failure>();
  e.onSendFailure((error, to) => failures.push({ error, to }));
  return failures;
}

function datagramsOf(e: UdpEndpoint): EventQueue<ReceivedDatagram> {
  const datagrams = new EventQueue<ReceivedDatagram>();
  e.onDatagram(datagrams.push);
  return datagrams;
}

describe('UdpEndpoint.sendDetached: no promise, failures to onSendFailure', () => {
  it('delivers datagrams in order, with the sender as `from`', async () => {
    const [a, b] = [await endpoint(), await endpoint()];
    const received = datagramsOf(b);
    const failures = failuresOf(a);
    for (let i = 0; i < 3; i++) a.sendDetached(Uint8Array.of(i), b.local);
    for (let i = 0; i < 3; i++) {
      const datagram = await received.next(2000, `datagram ${i}`);
      expect([...datagram.data]).toEqual([i]);
      expect(datagram.from).toEqual({ family: 4, address: '127.0.0.1', port: a.local.port });
    }
    expect(failures.size).toBe(0);
  });

  it('reports a datagram the kernel refuses (EMSGSIZE), once, after sendDetached returned', async () => {
    const [a, b] = [await endpoint(), await endpoint()];
    const failures = failuresOf(a);
    // Larger than any UDP/IPv4 payload (65,507 bytes): refused before anything is sent.
    a.sendDetached(new Uint8Array(70_000), b.local);
    expect(failures.size).toBe(0);
    const failure = await failures.next(2000, 'the send failure');
    expect(failure.error).toBeInstanceOf(SocketError);
    expect(failure.error.code).toBe('socket-send-failed');
    expect(failure.to).toEqual({ address: '127.0.0.1', port: b.local.port });
    // The socket still works afterwards.
    const received = datagramsOf(b);
    a.sendDetached(Uint8Array.of(7), b.local);
    expect([...(await received.next(2000, 'a datagram after the failure')).data]).toEqual([7]);
    expect(failures.size).toBe(0);
  });

  it('reports invalid arguments (port 0) instead of throwing', async () => {
    const a = await endpoint();
    const failures = failuresOf(a);
    expect(() => a.sendDetached(Uint8Array.of(1), { address: '127.0.0.1', port: 0 })).not.toThrow();
    const failure = await failures.next(2000, 'the send failure');
    expect(failure.error.code).toBe('socket-send-failed');
    expect(failure.to).toEqual({ address: '127.0.0.1', port: 0 });
  });

  it('reports a send on a closed socket as socket-closed', async () => {
    const [a, b] = [await endpoint(), await endpoint()];
    const failures = failuresOf(a);
    await a.close();
    a.sendDetached(Uint8Array.of(1), b.local);
    expect((await failures.next(2000, 'the send failure')).error.code).toBe('socket-closed');
  });
});

describe('UdpEndpoint.sendDetached: queued until the event loop has delivered what was waiting', () => {
  it('sends what is queued when the socket is closed right after', async () => {
    const [a, b] = [await endpoint(), await endpoint()];
    const received = datagramsOf(b);
    const failures = failuresOf(a);
    a.sendDetached(Uint8Array.of(1), b.local);
    a.sendDetached(Uint8Array.of(2), b.local);
    await a.close();
    expect([...(await received.next(2000, 'the first queued datagram')).data]).toEqual([1]);
    expect([...(await received.next(2000, 'the second queued datagram')).data]).toEqual([2]);
    expect(failures.size).toBe(0);
  });
});

describe('UdpEndpoint: destinations', () => {
  it('still resolves a host name (only IP literals skip dns.lookup)', async () => {
    const [a, b] = [await endpoint(), await endpoint()];
    const received = datagramsOf(b);
    await a.send(Uint8Array.of(1), { address: 'localhost', port: b.local.port });
    a.sendDetached(Uint8Array.of(2), { address: 'localhost', port: b.local.port });
    expect([...(await received.next(2000, 'the datagram sent with send()')).data]).toEqual([1]);
    expect([...(await received.next(2000, 'the datagram sent with sendDetached()')).data]).toEqual([2]);
  });
});
