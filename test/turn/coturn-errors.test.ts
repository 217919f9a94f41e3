/**
 * How the client reports a real coturn saying no, or going away: 403 for a denied peer, a lost
 * TCP connection, and the `turn` diagnosis naming the step that failed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allocate, diagnoseTurnServer, parseTurnUrl, type TurnAllocation, type TurnClientEvent } from '../../src/turn/index.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { EventQueue } from '../helpers/events.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';
import { startEchoPeer } from './echo-peer.js';

const skip = skipUnlessTools(toolGate(['turnserver']), 'TURN error responses from coturn');
const USER = { name: 'dave', password: 'dave-pass' };
const credentials = { username: USER.name, password: USER.password };

describe.skipIf(skip)('TURN client: coturn refusing and going away', () => {
  const servers: CoturnTurn[] = [];
  const allocations: TurnAllocation[] = [];
  afterEach(async () => {
    await Promise.all(allocations.splice(0).map((allocation) => allocation.close()));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  async function server(extraArgs: string[] = [], tcp = false): Promise<CoturnTurn> {
    const started = await startCoturnTurn({ users: [USER], tcp, extraArgs });
    servers.push(started);
    return started;
  }

  it('a permission for a denied peer IP is 403: turn-forbidden, with the advice about peer addresses', async () => {
    const coturn = await server(['--denied-peer-ip', '127.0.0.2']);
    const allocation = await allocate({ server: parseTurnUrl(coturn.url), credentials, timeoutMs: 3000 });
    allocations.push(allocation);
    await expect(allocation.createPermission(['127.0.0.2'])).rejects.toMatchObject({ code: 'turn-forbidden', message: expect.stringContaining('403') });
    // The failure left nothing behind: a permitted peer still works.
    await expect(allocation.createPermission(['127.0.0.1'])).resolves.toBeUndefined();
  });

  it('the diagnosis fails at the permission step when the relay may not send to this host (this host denied as a peer)', async () => {
    const coturn = await server(['--denied-peer-ip', '127.0.0.1']);
    const diagnosis = await diagnoseTurnServer({ server: parseTurnUrl(coturn.url), credentials, credentialKind: 'long-term', stepTimeoutMs: 2000 });
    expect(diagnosis.passed).toBe(false);
    expect(diagnosis.steps.map((step) => step.status)).toEqual(['pass', 'pass', 'pass', 'fail', 'skipped', 'skipped']);
    expect(diagnosis.steps[3]).toMatchObject({ code: 'turn-forbidden' });
  });

  it('a TCP allocation whose server dies reports turn-lost, and later sends fail with turn-closed', async () => {
    const coturn = await server([], true);
    const events = new EventQueue<TurnClientEvent>();
    const allocation = await allocate({ server: parseTurnUrl(`${coturn.url}?transport=tcp`), credentials, timeoutMs: 3000, onEvent: events.push });
    allocations.push(allocation);
    const echo = await startEchoPeer();
    try {
      await allocation.send(Buffer.from('before'), echo.endpoint.local);
      await coturn.stop();
      // Bounded: at most a few events (refreshes cannot fire this soon) before turn-lost.
      let event: TurnClientEvent | undefined;
      for (let i = 0; i < 10 && event?.type !== 'turn-lost'; i++) event = await events.next(5000, 'turn-lost after coturn stopped');
      expect(event).toMatchObject({ code: 'turn-unreachable' });
      await expect(allocation.send(Buffer.from('after'), echo.endpoint.local)).rejects.toMatchObject({ code: 'turn-closed' });
    } finally {
      await echo.close();
    }
  });
});
