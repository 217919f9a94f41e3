/**
 * TURN over TLS (RFC 8656 §3.1, turns: URLs) against a real coturn on 127.0.0.1 with a
 * self-signed certificate the suite makes itself: the allocation succeeds when that certificate
 * is trusted (`ca`), fails with turn-tls-failed when it is not (or names another host), and
 * ChannelData goes through the relay and back over the TLS stream.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UdpEndpoint } from '../../src/transport/index.js';
import { allocate, diagnoseTurnServer, parseTurnUrl, type TurnAllocation, type TurnClientEvent } from '../../src/turn/index.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { EventQueue, withinMs } from '../helpers/events.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';
import { startEchoPeer, type EchoPeer } from './echo-peer.js';

const skip = skipUnlessTools(toolGate(['turnserver', 'openssl'], 'apt-get install coturn openssl'), 'TURN over TLS against coturn');

const USER = { name: 'tess', password: 'tls-pass-7' };
const credentials = { username: USER.name, password: USER.password };

describe.skipIf(skip)('TURN client over TLS against a real coturn', () => {
  let certificate: TestCertificate;
  let coturn: CoturnTurn;
  let echo: EchoPeer;
  const open: TurnAllocation[] = [];

  beforeAll(async () => {
    certificate = await makeSelfSignedCertificate();
    coturn = await startCoturnTurn({ users: [USER], tls: { certFile: certificate.certFile, keyFile: certificate.keyFile } });
    echo = await startEchoPeer();
  });
  afterAll(async () => {
    await echo?.close();
    await coturn?.stop();
    certificate?.remove();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((allocation) => allocation.close()));
  });

  const tlsServer = () => parseTurnUrl(coturn.tlsUrl!);

  it('allocates over TLS when the self-signed certificate is trusted with `ca`', async () => {
    const events: TurnClientEvent[] = [];
    const allocation = await withinMs(
      allocate({ server: tlsServer(), credentials, tls: { ca: certificate.certPem }, timeoutMs: 3000, onEvent: (event) => events.push(event) }),
      4000,
      'a TLS allocation',
    );
    open.push(allocation);
    expect(allocation.server.transport).toBe('tls');
    expect(allocation.relayed.address).toBe('127.0.0.1');
    expect(allocation.mapped).toEqual({ family: 4, address: '127.0.0.1', port: allocation.local.port });
    expect(events.map((event) => event.type)).toEqual(['turn-connected', 'turn-challenge', 'turn-allocated']);
    expect(events[0]).toMatchObject({ transport: 'tls', server: `127.0.0.1:${coturn.tlsPort}` });
  });

  it('checks the certificate against the SNI name: servername "localhost" verifies, another name fails naming it', async () => {
    const allocation = await allocate({ server: tlsServer(), credentials, tls: { ca: certificate.certPem, servername: 'localhost' }, timeoutMs: 3000 });
    open.push(allocation);
    expect(allocation.relayed.address).toBe('127.0.0.1');
    const failure = await allocate({ server: tlsServer(), credentials, tls: { ca: certificate.certPem, servername: 'turn.example.net' }, timeoutMs: 3000 }).then(
      () => undefined,
      (error: unknown) => error as Error & { code: string; tlsCode?: string },
    );
    expect(failure).toMatchObject({ code: 'turn-tls-failed', tlsCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(failure?.message).toContain('"turn.example.net"');
  });

  it('without the CA the allocation fails with turn-tls-failed: one line that says "self-signed certificate" and --turn-ca FILE', async () => {
    const failure = await withinMs(
      allocate({ server: tlsServer(), credentials, timeoutMs: 3000 }).then(
        () => undefined,
        (error: unknown) => error as Error & { code: string },
      ),
      4000,
      'the TLS allocation to fail',
    );
    expect(failure?.code).toBe('turn-tls-failed');
    expect(failure?.message).toContain('self-signed certificate');
    expect(failure?.message).toContain('--turn-ca FILE');
    expect(failure?.message).toContain(`turns:127.0.0.1:${coturn.tlsPort}`);
    expect(failure?.message).not.toContain('\n');
  });

  it('rejectUnauthorized false allocates without the CA (throwaway servers only)', async () => {
    const allocation = await allocate({ server: tlsServer(), credentials, tls: { rejectUnauthorized: false }, timeoutMs: 3000 });
    open.push(allocation);
    expect(allocation.relayed.address).toBe('127.0.0.1');
  });

  it('ChannelData round trip over TLS: padded to 4 on the stream, and the next message framed right after', async () => {
    const allocation = await allocate({ server: tlsServer(), credentials, tls: { ca: certificate.certPem }, timeoutMs: 3000 });
    open.push(allocation);
    const peer = echo.endpoint.local;
    const received = new EventQueue<string>();
    allocation.onData((data) => received.push(Buffer.from(data).toString('utf8')));
    await allocation.send(Buffer.from('tls-indication'), peer);
    expect(await received.next(2000, 'the Data indication over TLS')).toBe('tls-indication');
    const channel = await allocation.bindChannel(peer);
    expect(channel).toBeGreaterThanOrEqual(0x4000);
    // 5 bytes: the ChannelData message is padded from 9 to 12 bytes inside the TLS stream.
    await allocation.send(Buffer.from('odd-5'), peer);
    expect(await received.next(2000, 'the ChannelData echo over TLS')).toBe('odd-5');
    await allocation.send(Buffer.from('after-padding'), peer);
    expect(await received.next(2000, 'the next ChannelData echo over TLS')).toBe('after-padding');
  });

  it('the turn diagnosis passes every step over TLS', async () => {
    const diagnosis = await diagnoseTurnServer({
      server: tlsServer(),
      credentials,
      credentialKind: 'long-term',
      tls: { ca: certificate.certPem },
      packets: 20,
      peerAddress: '127.0.0.1',
      stepTimeoutMs: 3000,
    });
    expect(diagnosis.steps.map((step) => `${step.step}:${step.status}`)).toEqual([
      'reachability:pass',
      'authentication:pass',
      'allocation:pass',
      'permission:pass',
      'channel:pass',
      'round-trip:pass',
    ]);
    expect(diagnosis).toMatchObject({ transport: 'tls', server: `turns:127.0.0.1:${coturn.tlsPort}`, passed: true });
  });

  it('the diagnosis without the CA fails at reachability with turn-tls-failed', async () => {
    const diagnosis = await diagnoseTurnServer({ server: tlsServer(), credentials, credentialKind: 'long-term', stepTimeoutMs: 3000 });
    expect(diagnosis.steps[0]).toMatchObject({ step: 'reachability', status: 'fail', code: 'turn-tls-failed' });
    expect(diagnosis.steps.slice(1).every((step) => step.status === 'skipped')).toBe(true);
  });
});

describe.skipIf(skip)('TURN client over TLS: servers that are not there, or do not speak TLS', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  });

  it('an unreachable TLS server fails with turn-unreachable (connection refused), as over TCP', async () => {
    const probe = await UdpEndpoint.bind({ address: '127.0.0.1' });
    const port = probe.local.port;
    await probe.close();
    await expect(allocate({ server: parseTurnUrl(`turns:127.0.0.1:${port}`), credentials, timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'turn-unreachable',
      message: expect.stringContaining('refused'),
    });
  });

  it('a port that answers in plain text is turn-tls-failed, with the advice to check that it speaks TLS', async () => {
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    const port = (server.address() as { port: number }).port;
    const failure = await allocate({ server: parseTurnUrl(`turns:127.0.0.1:${port}`), credentials, timeoutMs: 2000 }).then(
      () => undefined,
      (error: unknown) => error as Error & { code: string },
    );
    expect(failure?.code).toBe('turn-tls-failed');
    expect(failure?.message).toContain('speaks TLS');
  });
});
