/**
 * The shared store and bus: rooms, sessions, sequence numbers and every peer's unacknowledged
 * outbox live in one Redis (7.x, a single primary, not Cluster), written as they change, so any
 * instance can take over a session the moment another one dies (kill -9 included).
 *
 * Model (after Centrifugo's history streams): each write that queues a message for a peer is one
 * Lua script that appends it to the peer's outbox AND publishes it to the instance that holds the
 * peer's connection, so a crash can never leave a message stored but unannounced, or announced
 * but unstored. Pub/Sub is at-most-once; the outbox (a sorted set by seq) is the truth, and a
 * connection that sees a seq skip, or whose subscriber connection came back, re-reads its outbox
 * (PeerConnection.backfill). The client drops what it already has by seq: at-least-once plus
 * deduplication, which is exactly once to the application.
 *
 * Cost per relayed message (what lets two instances relay tens of thousands per second): the
 * stream frames (and ack frames) all connections of an instance receive in one event-loop turn go
 * to Redis as ONE script call (`batch`), processed in arrival order, and each script publishes ONE
 * message per target instance carrying every entry it queued for that instance's peers. Each
 * instance subscribes once, at start, to its own channel (and to the drop channel), so a join
 * costs no SUBSCRIBE. One batch is on its way at a time, so batches fill as load rises. Measured
 * in bench/signaling-redis.bench.ts (figures in the README): with a script and a PUBLISH per
 * message the instances collapsed at 20 000 peers and 10 500 msg/s sent one at a time (7 800
 * carried, p99 2 s); batched they carry it all.
 * Tried and measured without a gain (so not kept): a minimum of 1 ms between batches (half the
 * batches, same CPU), and one head string per operation with a flat string reply instead of
 * eight arguments and a nested array (52–53 against 52–55 µs per message in the instances). What
 * remains per message is mostly the WebSocket read and write syscalls and GC, as in one instance.
 *
 * Lost state is never silent: the key `<prefix>epoch` holds a random epoch, set when the store
 * first finds it empty. Every key lives under `<prefix><epoch>:`, every writing script checks
 * the epoch first, and the store re-reads it whenever its connection comes back. A Redis that
 * restarted without persistence (or was flushed) therefore gets a new epoch, and every instance
 * drops its sessions with `state-lost`; their resumes are refused with reason `state-lost`.
 *
 * Keys, for an epoch E (P = prefix + E + ':'):
 *   P p:<peerId>   hash  room, rt (resume-token hash), in (last client seq), out (next server seq), c (connected),
 *                        h (holding connection's nonce), i (holding instance's id)
 *   P o:<peerId>   zset  outbox: score seq, member "<seq>:<body>"
 *   P rt:<hash>    string peerId
 *   P r:<room>     hash  t (room-token hash, '' for none)
 *   P rp:<room>    list  peer ids in join order
 *   P rooms        zset  room by last activity (idle sweep, room count)
 *   P peers        set   peer ids (peer count)
 *   channel <prefix>i:<instanceId>: deliveries for that instance's peers, "<peerId> <seq>:<body>" lines joined by \n
 *     (a body is JSON, which has no raw newline)
 *   channel <prefix>d: "<peerId> <json>": drop orders, heard by every instance (rare: resume, idle room, overflow)
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createClient } from 'redis';
import type {
  AcceptOutcome,
  AddPeerOutcome,
  BusEvent,
  EnqueueOutcome,
  InboundStreamMessage,
  OutboundEntry,
  PeerRecord,
  RemovedPeer,
  SignalingBus,
  SignalingStore,
  StoreCounts,
  StoreLimits,
} from './store.js';
import { StateLostError, StoreUnavailableError } from './store.js';

type RedisClient = ReturnType<typeof createClient>;

export interface RedisSignalingOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string;
  /** Key prefix, so that several deployments can share one Redis. Default 'np:'. */
  prefix?: string;
  /** Bound on the first connection. Default 3 000 ms. */
  connectTimeoutMs?: number;
  /** Observes each command's round trip (metrics). */
  onCommand?: (name: string, seconds: number) => void;
}

/** Thrown by connectRedisSignaling when Redis cannot be reached at start. */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

const CHECK_EPOCH = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'EPOCH'} end
local P = ARGV[2]
`;

const ADD_PEER = `${CHECK_EPOCH}
local room, id, rtHash, tokenHash, now, holder, instance = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[11], ARGV[12]
local maxRooms, maxPeers, capacity = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local rk, rpk = P..'r:'..room, P..'rp:'..room
local exists = redis.call('EXISTS', rk) == 1
if not exists then
  if redis.call('ZCARD', P..'rooms') >= maxRooms then return {'REFUSED', 'too-many-rooms'} end
else
  if redis.call('HGET', rk, 't') ~= tokenHash then return {'REFUSED', 'room-token-mismatch'} end
  if redis.call('LLEN', rpk) >= capacity then return {'REFUSED', 'room-full'} end
end
if redis.call('SCARD', P..'peers') >= maxPeers then return {'REFUSED', 'too-many-peers'} end
if not exists then redis.call('HSET', rk, 't', tokenHash) end
local out = {'OK'}
for _, other in ipairs(redis.call('LRANGE', rpk, 0, -1)) do table.insert(out, other) end
redis.call('RPUSH', rpk, id)
redis.call('ZADD', P..'rooms', now, room)
redis.call('HSET', P..'p:'..id, 'room', room, 'rt', rtHash, 'in', 0, 'out', 1, 'c', 1, 'h', holder, 'i', instance)
redis.call('SADD', P..'peers', id)
redis.call('SET', P..'rt:'..rtHash, id)
return out`;

const FIND_BY_TOKEN = `local P = ARGV[1]
local id = redis.call('GET', P..'rt:'..ARGV[2])
if not id then return false end
local f = redis.call('HMGET', P..'p:'..id, 'room', 'in', 'c', 'h')
if not f[1] then return false end
return {id, f[1], f[2], f[3], f[4] or ''}`;

/** connected = 1: the connection `holder` on `instance` takes the session (deliveries go to that instance from now on). */
const SET_CONNECTED = `${CHECK_EPOCH}
local pk = P..'p:'..ARGV[3]
if redis.call('EXISTS', pk) == 0 then return {'GONE'} end
if ARGV[4] == '1' then
  redis.call('HSET', pk, 'c', 1, 'h', ARGV[5], 'i', ARGV[6])
else
  local h = redis.call('HGET', pk, 'h')
  if not h or h == '' or h == ARGV[5] then redis.call('HSET', pk, 'c', 0) end
end
return {'OK'}`;

const REMOVE_PEER = `${CHECK_EPOCH}
local id = ARGV[3]
local pk = P..'p:'..id
local f = redis.call('HMGET', pk, 'room', 'rt')
local room = f[1]
if not room then return {'GONE'} end
redis.call('DEL', pk, P..'o:'..id, P..'rt:'..f[2])
redis.call('SREM', P..'peers', id)
local rpk = P..'rp:'..room
redis.call('LREM', rpk, 0, id)
local remaining = redis.call('LRANGE', rpk, 0, -1)
local freed = 0
if #remaining == 0 then
  redis.call('DEL', P..'r:'..room, rpk)
  redis.call('ZREM', P..'rooms', room)
  freed = 1
end
local out = {'OK', room, freed}
for _, other in ipairs(remaining) do table.insert(out, other) end
return out`;

/**
 * Queues `body` for peer `other` unless its outbox is full, and appends to `out` what happened.
 * The announcement is collected per instance (the peer's field i: the instance that holds its
 * connection) and published by publishAll at the end of the script, one PUBLISH per instance for
 * everything the script queued: still in the same atomic step as the writes. ARGV[3] is the
 * channel prefix (not per epoch: instances subscribe once, at start).
 */
const QUEUE_FOR = `
local pubs, pubOrder = {}, {}
local function queueFor(P, other, body, maxPending, out)
  local opk = P..'p:'..other
  local f = redis.call('HMGET', opk, 'room', 'i')
  if not f[1] then return end
  local ok = P..'o:'..other
  if redis.call('ZCARD', ok) >= maxPending then
    table.insert(out, 'X'); table.insert(out, other)
    return
  end
  local s = redis.call('HINCRBY', opk, 'out', 1) - 1
  redis.call('ZADD', ok, s, s..':'..body)
  local instance = f[2]
  if instance and instance ~= '' then
    local lines = pubs[instance]
    if not lines then
      lines = {}
      pubs[instance] = lines
      table.insert(pubOrder, instance)
    end
    table.insert(lines, other..' '..s..':'..body)
  end
  table.insert(out, 'Q'); table.insert(out, other); table.insert(out, s)
end
local function publishAll()
  for _, instance in ipairs(pubOrder) do
    redis.call('PUBLISH', ARGV[3]..'i:'..instance, table.concat(pubs[instance], '\\n'))
  end
end
`;

/**
 * One batch of stream operations from this instance (every frame its connections sent since the
 * last batch left), in arrival order, each exactly as if it ran alone: the sequence checks of a
 * peer's second message see its first. 'M': a client stream message (forget the sender's outbox
 * up to ack, accept seq if it is the next one, queue body for the other peers); 'A': an ack frame.
 * Returns one reply per operation.
 */
const BATCH = `${CHECK_EPOCH}${QUEUE_FOR}
local function accept(id, seq, ack, body, hasBody, now, maxPending)
  local pk = P..'p:'..id
  local f = redis.call('HMGET', pk, 'room', 'in')
  local room = f[1]
  if not room then return {'UNKNOWN'} end
  if ack ~= '' then redis.call('ZREMRANGEBYSCORE', P..'o:'..id, '-inf', ack) end
  local last = tonumber(f[2])
  if seq <= last then return {'DUP'} end
  if seq ~= last + 1 then return {'GAP', last + 1} end
  redis.call('HSET', pk, 'in', seq)
  redis.call('ZADD', P..'rooms', now, room)
  local out = {'OK', 0}
  local partners = 0
  for _, other in ipairs(redis.call('LRANGE', P..'rp:'..room, 0, -1)) do
    if other ~= id then
      partners = partners + 1
      if hasBody == '1' then queueFor(P, other, body, maxPending, out) end
    end
  end
  out[2] = partners
  return out
end
local results = {}
local i = 5
for k = 1, tonumber(ARGV[4]) do
  if ARGV[i] == 'A' then
    redis.call('ZREMRANGEBYSCORE', P..'o:'..ARGV[i + 1], '-inf', ARGV[i + 2])
    results[k] = {'OK'}
    i = i + 3
  else
    results[k] = accept(ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], tonumber(ARGV[i + 7]))
    i = i + 8
  end
end
publishAll()
return results`;

const ENQUEUE = `${CHECK_EPOCH}${QUEUE_FOR}
local out = {'OK'}
if redis.call('EXISTS', P..'p:'..ARGV[4]) == 0 then return {'UNKNOWN'} end
queueFor(P, ARGV[4], ARGV[5], tonumber(ARGV[6]), out)
publishAll()
return out`;

interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = {
  addPeer: script(ADD_PEER),
  findByToken: script(FIND_BY_TOKEN),
  setConnected: script(SET_CONNECTED),
  removePeer: script(REMOVE_PEER),
  batch: script(BATCH),
  enqueue: script(ENQUEUE),
};

type Reply = (string | number | null)[] | null;

/** Bound on the operations in one `batch` script: a script blocks Redis while it runs. */
const MAX_BATCH = 256;
/**
 * `batch` scripts on their way at once. While one is out, new operations wait for it and then
 * leave together (as Nagle's algorithm does for bytes): the busier the instance, the fuller each
 * batch, so the round trips, syscalls and script calls per message fall as the load rises, at the
 * cost of at most one Redis round trip of extra latency.
 */
const MAX_BATCHES_IN_FLIGHT = 1;

interface BatchedOperation {
  readonly args: readonly (string | number)[];
  resolve(reply: Reply): void;
  reject(error: unknown): void;
}

/**
 * Connects the command and subscriber connections and settles the epoch. Throws
 * RedisUnreachableError (with the reason) when Redis does not answer within the bound.
 */
export async function connectRedisSignaling(options: RedisSignalingOptions): Promise<RedisSignaling> {
  const signaling = new RedisSignaling(options);
  await signaling.start();
  return signaling;
}

export interface RedisSignalingEvents {
  /** The command connection is down (the reason); store operations fail with StoreUnavailableError. */
  unavailable: [string];
  /** The command connection is back and the epoch re-read; store operations work again. */
  available: [];
}

export class RedisSignaling extends EventEmitter<RedisSignalingEvents> {
  readonly store: RedisSignalingStore;
  readonly bus: RedisSignalingBus;
  readonly prefix: string;
  readonly client: RedisClient;
  readonly subscriber: RedisClient;
  private currentEpoch = '';
  private readonly stateLostListeners = new Set<(epoch: string) => void>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly connectTimeoutMs: number;
  private closed = false;
  /** This instance's name in the peers it holds (field i), and so its delivery channel. */
  readonly instanceId = randomBytes(6).toString('base64url');
  /** Stream operations waiting for this event-loop turn's `batch` script. */
  private batchQueue: BatchedOperation[] = [];
  private batchScheduled = false;
  private batchesInFlight = 0;
  /** Set while the command connection is down: the reason, for `store-unavailable` messages. */
  private downReason: string | undefined = 'not connected yet';

  constructor(private readonly options: RedisSignalingOptions) {
    super();
    this.prefix = options.prefix ?? 'np:';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    const common = {
      url: options.url,
      // Fail commands at once while disconnected instead of queueing them without bound: the
      // connection that asked gets `store-unavailable` and its client retries with backoff.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.connectTimeoutMs,
        // Reconnect for ever, backing off to 1 s: Redis coming back should heal every instance.
        // At start, a refused connection is an answer: give up at once (serve exits 2 with it).
        reconnectStrategy: (retries: number, cause: Error) => (this.currentEpoch === '' ? cause : Math.min(50 * 2 ** Math.min(retries, 5), 1_000)),
      },
    };
    this.client = createClient({ ...common, name: 'nat-probe-signaling' });
    this.subscriber = createClient({ ...common, name: 'nat-probe-signaling-sub' });
    this.store = new RedisSignalingStore(this);
    this.bus = new RedisSignalingBus(this);
    // node-redis emits 'error' for every failed (re)connection; without a listener it throws.
    this.client.on('error', (error: unknown) => {
      const wasUp = this.downReason === undefined;
      this.downReason = describe(error);
      if (wasUp && this.currentEpoch !== '') this.emit('unavailable', this.downReason);
    });
    this.subscriber.on('error', () => undefined);
    this.client.on('ready', () => {
      if (this.currentEpoch === '') return; // start() settles the first epoch
      // Back after an outage: Redis may have restarted empty. Stay unavailable until the epoch
      // is re-read, so no write lands under an epoch that no longer exists.
      this.downReason = 're-reading the epoch';
      this.resettle();
    });
    // node-redis re-subscribes every channel when the subscriber comes back; what was published
    // meanwhile is gone from Pub/Sub but not from the outboxes, so every connection re-reads.
    let subscriberStarted = false;
    this.subscriber.on('ready', () => {
      if (!subscriberStarted) {
        subscriberStarted = true;
        return;
      }
      for (const listener of this.resyncListeners) listener();
    });
  }

  epoch(): string {
    return this.currentEpoch;
  }

  /** Re-reads the epoch after a reconnect; on failure (Redis still loading…) tries again each second until closed. */
  private resettle(): void {
    this.settleEpoch().then(
      () => {
        this.downReason = undefined;
        this.emit('available');
      },
      (error: unknown) => {
        this.downReason = `re-reading the epoch failed: ${describe(error)}`;
        if (!this.closed) setTimeout(() => this.client.isReady && !this.closed && this.resettle(), 1_000).unref();
      },
    );
  }

  /** Key prefix of the current epoch. */
  keys(): string {
    return `${this.prefix}${this.currentEpoch}:`;
  }

  /** Prefix of the Pub/Sub channels (not per epoch: each instance subscribes once, at start). */
  get channelPrefix(): string {
    return `${this.prefix}ch:`;
  }

  /** The channel deliveries for this instance's peers arrive on. */
  get deliveryChannel(): string {
    return `${this.channelPrefix}i:${this.instanceId}`;
  }

  /** The channel every instance hears drop orders on. */
  get dropChannel(): string {
    return `${this.channelPrefix}d`;
  }

  /**
   * Queues one stream operation for the next `batch` script. It leaves once this event-loop
   * turn's I/O is handled (setImmediate runs after every socket read of the turn), or, while
   * another batch is out, when that one's reply is back (MAX_BATCHES_IN_FLIGHT). The script runs
   * the operations in the order they were queued; each caller gets its own reply.
   */
  batched(args: readonly (string | number)[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.batchQueue.push({ args, resolve, reject });
      this.scheduleBatch();
    });
  }

  private scheduleBatch(): void {
    if (this.batchScheduled || this.batchesInFlight >= MAX_BATCHES_IN_FLIGHT || this.batchQueue.length === 0) return;
    this.batchScheduled = true;
    setImmediate(() => this.flushBatch());
  }

  private flushBatch(): void {
    this.batchScheduled = false;
    const chunk = this.batchQueue.splice(0, MAX_BATCH);
    if (chunk.length === 0) return;
    const args: (string | number)[] = [this.channelPrefix, chunk.length];
    for (const operation of chunk) for (const arg of operation.args) args.push(arg);
    this.batchesInFlight++;
    this.script('batch', args, true)
      .then(
        (reply) => {
          for (let i = 0; i < chunk.length; i++) chunk[i]!.resolve((reply as unknown as Reply[])[i] ?? null);
        },
        (error: unknown) => {
          for (const operation of chunk) operation.reject(error);
        },
      )
      .finally(() => {
        this.batchesInFlight--;
        this.scheduleBatch();
      });
    this.scheduleBatch();
  }

  async start(): Promise<void> {
    const bound = (promise: Promise<unknown>, what: string): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new RedisUnreachableError(`${what}: no answer within ${this.connectTimeoutMs} ms (${this.downReason ?? 'timeout'})`)), this.connectTimeoutMs);
        promise.then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(new RedisUnreachableError(`${what}: ${describe(error)}`));
          },
        );
      });
    try {
      await bound(this.client.connect(), `Redis at ${redactUrl(this.options.url)} is unreachable`);
      await bound(this.subscriber.connect(), `Redis at ${redactUrl(this.options.url)} is unreachable`);
      // One subscription per instance for its whole life; node-redis renews it after a reconnect.
      await bound(
        this.subscriber.subscribe(this.deliveryChannel, (message) => this.bus.dispatchDeliveries(message)),
        `Redis at ${redactUrl(this.options.url)} did not answer SUBSCRIBE`,
      );
      await bound(this.subscriber.subscribe(this.dropChannel, (message) => this.bus.dispatchDrop(message)), `Redis at ${redactUrl(this.options.url)} did not answer SUBSCRIBE`);
      await bound(this.settleEpoch(), `Redis at ${redactUrl(this.options.url)} did not answer`);
      this.downReason = undefined;
      const version = /redis_version:(\d+)/.exec(String(await this.client.info('server')))?.[1];
      if (version !== undefined && Number(version) < 7) throw new RedisUnreachableError(`Redis ${version}.x at ${redactUrl(this.options.url)} is too old; nat-probe needs Redis 7 or later`);
    } catch (error) {
      await this.close();
      throw error instanceof RedisUnreachableError ? error : new RedisUnreachableError(describe(error));
    }
  }

  /**
   * Reads the epoch, creating one if Redis has none (first start, or state lost). A change from
   * the epoch this instance knew means every session it served is gone.
   */
  async settleEpoch(): Promise<string> {
    const key = `${this.prefix}epoch`;
    await this.client.set(key, randomBytes(6).toString('base64url'), { condition: 'NX' });
    const epoch = String(await this.client.get(key));
    const previous = this.currentEpoch;
    this.currentEpoch = epoch;
    if (previous !== '' && previous !== epoch) for (const listener of this.stateLostListeners) listener(epoch);
    return epoch;
  }

  onStateLost(listener: (epoch: string) => void): () => void {
    this.stateLostListeners.add(listener);
    return () => this.stateLostListeners.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** Runs a command, timing it, and turns connection failures into StoreUnavailableError. */
  async run<T>(name: string, command: () => Promise<T>): Promise<T> {
    if (this.downReason !== undefined) throw new StoreUnavailableError(`Redis is unreachable (${this.downReason})`);
    const started = process.hrtime.bigint();
    try {
      return await command();
    } catch (error) {
      if (error instanceof StateLostError) throw error;
      const text = describe(error);
      // A script error is a bug, not an outage: let it surface as one.
      if (/ERR .*script|WRONGTYPE/i.test(text)) throw error;
      throw new StoreUnavailableError(`Redis failed (${text})`);
    } finally {
      this.options.onCommand?.(name, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** Runs a Lua script by SHA, loading it on NOSCRIPT (first use, or a Redis that restarted). */
  async script(name: keyof typeof SCRIPTS, args: (string | number)[], checkEpoch: boolean): Promise<Reply> {
    const { sha, source } = SCRIPTS[name];
    const keys = checkEpoch ? [`${this.prefix}epoch`] : [];
    const argv = (checkEpoch ? [this.currentEpoch, this.keys(), ...args] : [this.keys(), ...args]).map(String);
    const reply = await this.run(name, async () => {
      try {
        return (await this.client.evalSha(sha, { keys, arguments: argv })) as Reply;
      } catch (error) {
        if (!describe(error).includes('NOSCRIPT')) throw error;
        return (await this.client.eval(source, { keys, arguments: argv })) as Reply;
      }
    });
    if (Array.isArray(reply) && reply[0] === 'EPOCH') {
      await this.settleEpoch().catch(() => undefined);
      throw new StateLostError(`the signaling state in Redis was lost (new epoch ${this.currentEpoch})`);
    }
    return reply;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const client of [this.subscriber, this.client]) {
      try {
        // quit() waits for the server; a client still trying to connect has none to wait for.
        if (client.isReady) await client.quit();
        else if (client.isOpen) client.destroy();
      } catch {
        if (client.isOpen) client.destroy();
      }
    }
  }
}

export class RedisSignalingStore implements SignalingStore {
  readonly publishesOnWrite = true;

  constructor(private readonly redis: RedisSignaling) {}

  epoch(): string {
    return this.redis.epoch();
  }

  onStateLost(listener: (epoch: string) => void): () => void {
    return this.redis.onStateLost(listener);
  }

  async addPeer(
    input: { room: string; peerId: string; resumeTokenHash: string; roomTokenHash: string | undefined; now: number; holder?: string },
    limits: StoreLimits,
  ): Promise<AddPeerOutcome> {
    const reply = await this.redis.script(
      'addPeer',
      [input.room, input.peerId, input.resumeTokenHash, input.roomTokenHash ?? '', input.now, limits.maxRooms, limits.maxPeers, limits.roomCapacity, input.holder ?? '', this.redis.instanceId],
      true,
    );
    if (reply![0] === 'REFUSED') return { ok: false, code: reply![1] as 'room-full' | 'room-token-mismatch' | 'too-many-rooms' | 'too-many-peers' };
    return { ok: true, peers: reply!.slice(1).map(String) };
  }

  async getPeer(peerId: string): Promise<PeerRecord | undefined> {
    const [room, lastIn, connected, holder] = await this.redis.run('hmget', () => this.redis.client.hmGet(`${this.redis.keys()}p:${peerId}`, ['room', 'in', 'c', 'h']));
    if (room === null || room === undefined) return undefined;
    return { peerId, room: String(room), lastInSeq: Number(lastIn), connected: String(connected) === '1', holder: String(holder ?? '') };
  }

  async findPeerByResumeToken(resumeTokenHash: string): Promise<PeerRecord | undefined> {
    const reply = await this.redis.script('findByToken', [resumeTokenHash], false);
    if (reply === null || !Array.isArray(reply)) return undefined;
    const [peerId, room, lastIn, connected, holder] = reply;
    return { peerId: String(peerId), room: String(room), lastInSeq: Number(lastIn), connected: String(connected) === '1', holder: String(holder ?? '') };
  }

  async setConnected(peerId: string, connected: boolean, holder = ''): Promise<boolean> {
    const reply = await this.redis.script('setConnected', [peerId, connected ? 1 : 0, holder, this.redis.instanceId], true);
    return reply![0] === 'OK';
  }

  async removePeer(peerId: string): Promise<RemovedPeer | undefined> {
    const reply = await this.redis.script('removePeer', [peerId], true);
    if (reply![0] !== 'OK') return undefined;
    return { room: String(reply![1]), roomFreed: Number(reply![2]) === 1, remaining: reply!.slice(3).map(String) };
  }

  async roomPeers(room: string): Promise<string[]> {
    return this.redis.run('lrange', () => this.redis.client.lRange(`${this.redis.keys()}rp:${room}`, 0, -1));
  }

  async acceptStreamMessage(peerId: string, message: InboundStreamMessage, now: number, maxPending: number): Promise<AcceptOutcome> {
    const reply = await this.redis.batched(['M', peerId, message.seq, message.ack ?? '', message.body ?? '', message.body === undefined ? 0 : 1, now, maxPending]);
    switch (reply![0]) {
      case 'UNKNOWN':
        return { kind: 'unknown-peer' };
      case 'DUP':
        return { kind: 'duplicate' };
      case 'GAP':
        return { kind: 'gap', expected: Number(reply![1]) };
    }
    const outcome: AcceptOutcome & { kind: 'accepted' } = { kind: 'accepted', partners: Number(reply![1]), queued: [], overflowed: [] };
    parseQueued(reply!, 2, message.body ?? '', outcome.queued, outcome.overflowed);
    return outcome;
  }

  async enqueueOutbound(peerId: string, body: string, maxPending: number): Promise<EnqueueOutcome> {
    const reply = await this.redis.script('enqueue', [this.redis.channelPrefix, peerId, body, maxPending], true);
    if (reply![0] === 'UNKNOWN') return { kind: 'unknown-peer' };
    const queued: { peerId: string; entry: OutboundEntry }[] = [];
    const overflowed: string[] = [];
    parseQueued(reply!, 1, body, queued, overflowed);
    return queued.length > 0 ? { kind: 'queued', entry: queued[0]!.entry } : { kind: 'overflow' };
  }

  async acknowledgeOutbound(peerId: string, ack: number): Promise<void> {
    await this.redis.batched(['A', peerId, ack]);
  }

  async pendingOutbound(peerId: string, afterSeq: number): Promise<OutboundEntry[]> {
    const members = await this.redis.run('zrangebyscore', () => this.redis.client.zRangeByScore(`${this.redis.keys()}o:${peerId}`, `(${afterSeq}`, '+inf'));
    return members.map((member) => parseEntry(String(member)));
  }

  async idleRooms(before: number): Promise<string[]> {
    return this.redis.run('zrangebyscore', () => this.redis.client.zRangeByScore(`${this.redis.keys()}rooms`, '-inf', `(${before}`));
  }

  async counts(): Promise<StoreCounts> {
    const keys = this.redis.keys();
    const [rooms, peers] = await this.redis.run('counts', () => Promise.all([this.redis.client.zCard(`${keys}rooms`), this.redis.client.sCard(`${keys}peers`)]));
    return { rooms: Number(rooms), peers: Number(peers) };
  }
}

function parseQueued(reply: (string | number | null)[], from: number, body: string, queued: { peerId: string; entry: OutboundEntry }[], overflowed: string[]): void {
  for (let i = from; i < reply.length; ) {
    if (reply[i] === 'Q') {
      queued.push({ peerId: String(reply[i + 1]), entry: { seq: Number(reply[i + 2]), body } });
      i += 3;
    } else {
      overflowed.push(String(reply[i + 1]));
      i += 2;
    }
  }
}

/** "<seq>:<body>" → entry. */
function parseEntry(text: string): OutboundEntry {
  const colon = text.indexOf(':');
  return { seq: Number(text.slice(0, colon)), body: text.slice(colon + 1) };
}

export class RedisSignalingBus implements SignalingBus {
  /** One handler per peer on this instance; Redis routes by instance (RedisSignaling.deliveryChannel). */
  private readonly handlers = new Map<string, (event: BusEvent) => void>();

  constructor(private readonly redis: RedisSignaling) {}

  /** `deliver` is published by the store's scripts (publishesOnWrite); only `drop` goes out here. */
  publish(peerId: string, event: BusEvent): void {
    if (event.kind === 'deliver') return;
    // A connection of this peer on this instance hears it now, before a resuming connection here
    // can take over the handler (as with the in-memory bus); the copy that comes back through
    // Redis finds it closed, or finds the resuming connection, which ignores its own `by`.
    this.handlers.get(peerId)?.(event);
    void this.redis.run('publish', () => this.redis.client.publish(this.redis.dropChannel, `${peerId} ${JSON.stringify(event)}`)).catch(() => undefined);
  }

  /**
   * Only a local registration: the instance's channel is subscribed since start. The session's
   * field i already names this instance (addPeer / setConnected ran first), and the connection
   * reads its outbox after this, so nothing queued before the handler existed is missed.
   */
  subscribe(peerId: string, handler: (event: BusEvent) => void): () => void {
    this.handlers.set(peerId, handler);
    return () => {
      if (this.handlers.get(peerId) === handler) this.handlers.delete(peerId);
    };
  }

  onResync(listener: () => void): () => void {
    return this.redis.onResync(listener);
  }

  /** One publish of a `batch` or `enqueue` script: "<peerId> <seq>:<body>" lines for this instance's peers. */
  dispatchDeliveries(message: string): void {
    for (let start = 0; start < message.length; ) {
      let end = message.indexOf('\n', start);
      if (end < 0) end = message.length;
      const space = message.indexOf(' ', start);
      const handler = this.handlers.get(message.slice(start, space));
      if (handler !== undefined) handler({ kind: 'deliver', entry: parseEntry(message.slice(space + 1, end)) });
      start = end + 1;
    }
  }

  dispatchDrop(message: string): void {
    const space = message.indexOf(' ');
    this.handlers.get(message.slice(0, space))?.(JSON.parse(message.slice(space + 1)) as BusEvent);
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  const text = error instanceof Error ? error.message : String(error);
  return text === '' && error instanceof Error ? error.name : text;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}
