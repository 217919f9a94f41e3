/**
 * The whole server suite (pairing, resume, bad input, rate limits, capacity…) again, with the
 * server's state in a real Redis: hostile-frame handling and every protocol rule hold with
 * Redis behind the server. Each server gets a key prefix of its own in one redis-server.
 */
import { afterAll } from 'vitest';
import { connectRedisSignaling } from '../../src/signaling/redis-store.js';
import { redisGate, RedisProcess } from '../helpers/redis.js';
import { skipUnlessTools } from '../helpers/tools.js';

const skip = skipUnlessTools(redisGate, 'the signaling server suite with Redis');
if (!skip) {
  const redis = await RedisProcess.start();
  afterAll(() => redis.stop());
  let servers = 0;
  (globalThis as { __natProbeSignalingState?: unknown }).__natProbeSignalingState = async () => {
    const shared = await connectRedisSignaling({ url: redis.url, prefix: `suite${++servers}:` });
    return { store: shared.store, bus: shared.bus, close: () => shared.close() };
  };
  await import('./server.test.js');
}
