import { isIP } from 'node:net';
import {
  attr,
  encodeMessage,
  formatTransportAddress,
  getAttribute,
  StunMethod,
  type DecodedStunMessage,
  type TransportAddress,
} from '../stun/index.js';
import type { TimerHandle } from '../transport/index.js';
import { decodeChannelData, encodeChannelData, looksLikeChannelData, MAX_CHANNEL_NUMBER, MIN_CHANNEL_NUMBER } from './channel-data.js';
import { TurnClosedError, TurnUsageError } from './errors.js';
import { nextIndicationId } from './indication-ids.js';
import type { TurnRefreshTarget } from './events.js';
import type { TurnSession } from './session.js';
import {
  CHANNEL_LIFETIME_SECONDS,
  PERMISSION_LIFETIME_SECONDS,
  REFRESH_RETRY_MS,
  refreshDelayMs,
} from './timing.js';
import type { TurnServerAddress } from './url.js';
import { isNatProbeError } from '../errors.js';

/** A peer as ICE hands it over: family may be absent (src/ice's TransportAddress has none). */
export interface PeerAddress {
  readonly address: string;
  readonly port: number;
  readonly family?: 4 | 6;
}

export type TurnDataListener = (data: Uint8Array, from: TransportAddress) => void;

/**
 * The relayed candidate's send path for ICE: structurally the same as src/ice's
 * CandidateTransport (turn/ may not import ice/, DESIGN "Layers").
 */
export interface TurnCandidateTransport {
  readonly local: TransportAddress;
  send(data: Uint8Array, to: PeerAddress): Promise<void>;
  onDatagram(listener: (datagram: { data: Uint8Array; from: TransportAddress }) => void): () => void;
}

export interface TurnAllocation {
  /** XOR-RELAYED-ADDRESS: where peers send to reach this client (RFC 8656 §7.3). */
  readonly relayed: TransportAddress;
  /** XOR-MAPPED-ADDRESS: the client's server-reflexive address. */
  readonly mapped: TransportAddress;
  /** The client socket's own address. */
  readonly local: TransportAddress;
  readonly server: TurnServerAddress;
  /** The lifetime the server granted (or last refreshed to). */
  readonly lifetimeSeconds: number;
  readonly transport: TurnCandidateTransport;
  /** RFC 8656 §9: allow these peer IPs to send to the relayed address (ports do not matter). */
  createPermission(peers: readonly string[]): Promise<void>;
  /** RFC 8656 §12: a channel for this peer (0x4000–0x4FFF); binding again returns the same number. */
  bindChannel(peer: PeerAddress): Promise<number>;
  /** ChannelData when a channel is bound, a Send indication otherwise; creates the permission first if needed. */
  send(data: Uint8Array, peer: PeerAddress): Promise<void>;
  onData(listener: TurnDataListener): () => void;
  /** Refresh with LIFETIME 0 (bounded), stops every timer, closes the connection. Idempotent. */
  close(): Promise<void>;
}

interface Permission {
  /** Settles when the CreatePermission that installs it does; shared by concurrent callers. */
  pending: Promise<void> | undefined;
  installed: boolean;
  timer: TimerHandle | undefined;
}

interface Channel {
  readonly number: number;
  readonly peer: TransportAddress;
  pending: Promise<number> | undefined;
  bound: boolean;
  timer: TimerHandle | undefined;
}

export interface AllocationInit {
  session: TurnSession;
  server: TurnServerAddress;
  relayed: TransportAddress;
  mapped: TransportAddress;
  lifetimeSeconds: number;
  /** Bound on each request after allocation (permission, channel, refresh), in ms. */
  requestTimeoutMs: number;
  /** Bound on the Refresh(0) that close() sends, in ms. */
  closeTimeoutMs: number;
}

function peerKey(address: string, port: number): string {
  return `${address}|${port}`;
}

function peerFamily(peer: PeerAddress): 4 | 6 {
  return peer.family ?? (peer.address.includes(':') ? 6 : 4);
}

/**
 * One allocation and its upkeep (RFC 8656 §7–§12): refresh timers for the allocation, each
 * permission and each channel, all on the session's Clock; the data path both ways.
 */
export class Allocation implements TurnAllocation {
  readonly relayed: TransportAddress;
  readonly mapped: TransportAddress;
  readonly server: TurnServerAddress;
  readonly transport: TurnCandidateTransport;
  private lifetime: number;
  private readonly session: TurnSession;
  private readonly permissions = new Map<string, Permission>();
  private readonly channels = new Map<string, Channel>();
  private readonly channelsByNumber = new Map<number, Channel>();
  private nextChannel = MIN_CHANNEL_NUMBER;
  private readonly listeners = new Set<TurnDataListener>();
  private refreshTimer: TimerHandle | undefined;
  private expiresAt: number;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly requestTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly detach: Array<() => void> = [];

  constructor(init: AllocationInit) {
    this.session = init.session;
    this.server = init.server;
    this.relayed = init.relayed;
    this.mapped = init.mapped;
    this.lifetime = init.lifetimeSeconds;
    this.requestTimeoutMs = init.requestTimeoutMs;
    this.closeTimeoutMs = init.closeTimeoutMs;
    this.expiresAt = this.session.clock.now() + init.lifetimeSeconds * 1000;
    const connection = this.session.connection;
    this.detach.push(connection.onIncoming((bytes, message) => this.receive(bytes, message)));
    this.detach.push(
      connection.onLost((error) => this.lose(isNatProbeError(error) ? error.code : 'turn-lost', error.message)),
    );
    this.scheduleAllocationRefresh(refreshDelayMs(init.lifetimeSeconds));
    const self = this;
    this.transport = {
      get local() {
        return self.relayed;
      },
      send: (data, to) => this.send(data, to),
      onDatagram: (listener) => this.onData((data, from) => listener({ data, from })),
    };
  }

  get local(): TransportAddress {
    return this.session.connection.local;
  }

  get lifetimeSeconds(): number {
    return this.lifetime;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- permissions (RFC 8656 §9) ----

  createPermission(peers: readonly string[]): Promise<void> {
    if (this.closed) return Promise.reject(new TurnClosedError('create a permission'));
    const waits: Promise<void>[] = [];
    const fresh: string[] = [];
    for (const ip of new Set(peers)) {
      if (isIP(ip) === 0) return Promise.reject(new TurnUsageError(`Cannot create a TURN permission for "${ip}": a permission is for an IP address.`));
      const existing = this.permissions.get(ip);
      if (existing?.pending) waits.push(existing.pending);
      else fresh.push(ip);
    }
    if (fresh.length > 0) waits.push(this.installPermissions(fresh, false));
    return Promise.all(waits).then(() => undefined);
  }

  /** One CreatePermission for several IPs (RFC 8656 §9.1 allows several XOR-PEER-ADDRESS). */
  private installPermissions(ips: string[], refresh: boolean): Promise<void> {
    const entries = ips.map((ip) => {
      let entry = this.permissions.get(ip);
      if (!entry) {
        entry = { pending: undefined, installed: false, timer: undefined };
        this.permissions.set(ip, entry);
      }
      return entry;
    });
    const attributes = ips.map((ip) => attr('XOR-PEER-ADDRESS', { family: isIP(ip) === 6 ? 6 : 4, address: ip, port: 0 }));
    const started = this.session.clock.now();
    const pending = this.session.request('createPermission', attributes, { deadlineMs: this.requestTimeoutMs }).then(
      () => {
        for (const [i, entry] of entries.entries()) {
          entry.pending = undefined;
          entry.installed = true;
          this.schedulePermissionRefresh(ips[i]!, entry);
        }
        if (refresh) for (const ip of ips) this.session.event({ type: 'turn-refreshed', at: this.session.elapsed(), target: 'permission', peer: ip });
        else this.session.event({ type: 'turn-permission', at: this.session.elapsed(), peers: ips, rttMs: this.session.clock.now() - started });
      },
      (error: unknown) => {
        for (const [i, entry] of entries.entries()) {
          entry.pending = undefined;
          // A failed first install leaves nothing; a failed refresh keeps the (still valid) permission until it lapses.
          if (!entry.installed) this.permissions.delete(ips[i]!);
        }
        throw error;
      },
    );
    for (const entry of entries) entry.pending = pending;
    return pending;
  }

  private schedulePermissionRefresh(ip: string, entry: Permission): void {
    if (entry.timer) this.session.clock.clearTimeout(entry.timer);
    if (this.closed) return;
    entry.timer = this.session.clock.setTimeout(() => {
      entry.timer = undefined;
      if (this.closed) return;
      this.installPermissions([ip], true).catch((error: unknown) => this.refreshFailed('permission', error, ip));
    }, refreshDelayMs(PERMISSION_LIFETIME_SECONDS));
  }

  // ---- channels (RFC 8656 §12) ----

  bindChannel(peer: PeerAddress): Promise<number> {
    if (this.closed) return Promise.reject(new TurnClosedError('bind a channel'));
    if (isIP(peer.address) === 0) return Promise.reject(new TurnUsageError(`Cannot bind a TURN channel to "${peer.address}": it is not an IP address.`));
    const key = peerKey(peer.address, peer.port);
    const existing = this.channels.get(key);
    if (existing) return existing.pending ?? Promise.resolve(existing.number);
    if (this.nextChannel > MAX_CHANNEL_NUMBER) {
      return Promise.reject(new TurnUsageError('Cannot bind another TURN channel: all 4096 channel numbers (0x4000–0x4FFF) are in use.'));
    }
    const channel: Channel = {
      number: this.nextChannel++,
      peer: { family: peerFamily(peer), address: peer.address, port: peer.port },
      pending: undefined,
      bound: false,
      timer: undefined,
    };
    this.channels.set(key, channel);
    this.channelsByNumber.set(channel.number, channel);
    channel.pending = this.sendChannelBind(channel, false).then(
      () => channel.number,
      (error: unknown) => {
        this.channels.delete(key);
        this.channelsByNumber.delete(channel.number);
        throw error;
      },
    );
    return channel.pending;
  }

  private sendChannelBind(channel: Channel, refresh: boolean): Promise<void> {
    const started = this.session.clock.now();
    const attributes = [attr('CHANNEL-NUMBER', channel.number), attr('XOR-PEER-ADDRESS', channel.peer)];
    return this.session.request('channelBind', attributes, { deadlineMs: this.requestTimeoutMs }).then(() => {
      channel.pending = undefined;
      channel.bound = true;
      // RFC 8656 §12.2: a ChannelBind also installs or refreshes the permission for the peer's IP.
      this.markPermissionInstalled(channel.peer.address);
      this.scheduleChannelRefresh(channel);
      const peer = formatTransportAddress(channel.peer);
      if (refresh) this.session.event({ type: 'turn-refreshed', at: this.session.elapsed(), target: 'channel', peer });
      else this.session.event({ type: 'turn-channel', at: this.session.elapsed(), channel: channel.number, peer, rttMs: this.session.clock.now() - started });
    });
  }

  private markPermissionInstalled(ip: string): void {
    let entry = this.permissions.get(ip);
    if (!entry) {
      entry = { pending: undefined, installed: true, timer: undefined };
      this.permissions.set(ip, entry);
    }
    entry.installed = true;
    this.schedulePermissionRefresh(ip, entry);
  }

  private scheduleChannelRefresh(channel: Channel): void {
    if (channel.timer) this.session.clock.clearTimeout(channel.timer);
    if (this.closed) return;
    channel.timer = this.session.clock.setTimeout(() => {
      channel.timer = undefined;
      if (this.closed) return;
      // RFC 8656 §12.1: refresh by sending the same ChannelBind again.
      this.sendChannelBind(channel, true).catch((error: unknown) => this.refreshFailed('channel', error, formatTransportAddress(channel.peer)));
    }, refreshDelayMs(CHANNEL_LIFETIME_SECONDS));
  }

  // ---- data (RFC 8656 §11, §12.4) ----

  send(data: Uint8Array, peer: PeerAddress): Promise<void> {
    if (this.closed) return Promise.reject(new TurnClosedError('send'));
    const permission = this.permissions.get(peer.address);
    if (permission?.installed !== true) {
      // RFC 8656 §9: the server drops data for peers without a permission; install it first.
      return this.createPermission([peer.address]).then(() => this.sendNow(data, peer));
    }
    return this.sendNow(data, peer);
  }

  private sendNow(data: Uint8Array, peer: PeerAddress): Promise<void> {
    if (this.closed) return Promise.reject(new TurnClosedError('send'));
    const connection = this.session.connection;
    const channel = this.channels.size === 0 ? undefined : this.channels.get(peerKey(peer.address, peer.port));
    if (channel?.bound === true) return connection.send(encodeChannelData(channel.number, data, connection.padsChannelData));
    // RFC 8656 §11.1: a Send indication carries XOR-PEER-ADDRESS and DATA, no integrity.
    const indication = encodeMessage({
      class: 'indication',
      method: StunMethod.send,
      transactionId: nextIndicationId(),
      attributes: [attr('XOR-PEER-ADDRESS', { family: peerFamily(peer), address: peer.address, port: peer.port }), attr('DATA', data)],
    });
    return connection.send(indication);
  }

  onData(listener: TurnDataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private receive(bytes: Uint8Array, message: DecodedStunMessage | undefined): void {
    if (message === undefined) {
      if (!looksLikeChannelData(bytes)) return;
      let decoded;
      try {
        decoded = decodeChannelData(bytes);
      } catch {
        return; // RFC 8656 §12.6: malformed ChannelData is discarded
      }
      const channel = this.channelsByNumber.get(decoded.channel);
      if (channel === undefined) return; // §12.6: data on an unknown channel is discarded
      this.deliver(decoded.data, channel.peer);
      return;
    }
    // RFC 8656 §11.4: a Data indication carries the peer and the data.
    if (message.class !== 'indication' || message.method !== StunMethod.data) return;
    const from = getAttribute(message, 'XOR-PEER-ADDRESS');
    const data = getAttribute(message, 'DATA');
    if (from === undefined || data === undefined) return;
    this.deliver(data, from);
  }

  private deliver(data: Uint8Array, from: TransportAddress): void {
    for (const listener of this.listeners) listener(data, from);
  }

  // ---- allocation refresh (RFC 8656 §8) ----

  private scheduleAllocationRefresh(delayMs: number): void {
    if (this.refreshTimer) this.session.clock.clearTimeout(this.refreshTimer);
    if (this.closed) return;
    this.refreshTimer = this.session.clock.setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refreshAllocation();
    }, delayMs);
  }

  private async refreshAllocation(): Promise<void> {
    if (this.closed) return;
    try {
      const { response } = await this.session.request('refresh', [attr('LIFETIME', this.lifetime)], { deadlineMs: this.requestTimeoutMs });
      if (this.closed) return;
      this.lifetime = getAttribute(response, 'LIFETIME') ?? this.lifetime;
      this.expiresAt = this.session.clock.now() + this.lifetime * 1000;
      this.session.event({ type: 'turn-refreshed', at: this.session.elapsed(), target: 'allocation', lifetimeSeconds: this.lifetime });
      this.scheduleAllocationRefresh(refreshDelayMs(this.lifetime));
    } catch (error) {
      if (this.closed) return;
      this.refreshFailed('allocation', error);
      // Try again while the allocation can still be saved; after its expiry there is nothing to refresh.
      const left = this.expiresAt - this.session.clock.now();
      if (left > REFRESH_RETRY_MS) this.scheduleAllocationRefresh(REFRESH_RETRY_MS);
    }
  }

  private refreshFailed(target: TurnRefreshTarget, error: unknown, peer?: string): void {
    if (this.closed) return;
    const code = isNatProbeError(error) ? error.code : 'turn-refresh-failed';
    const message = error instanceof Error ? error.message : String(error);
    this.session.event({ type: 'turn-refresh-failed', at: this.session.elapsed(), target, ...(peer === undefined ? {} : { peer }), code, message });
    // RFC 8656 §8/§9/§12: 437 to a Refresh, CreatePermission or ChannelBind means the server no
    // longer has this allocation (expired, or dropped by the server): nothing is left to keep up.
    if (code === 'turn-allocation-mismatch') this.lose(code, message);
  }

  /** The server lost the allocation: stop the timers, tell the listeners, free the socket. */
  private lose(code: string, message: string): void {
    if (this.closed) return;
    this.shutDown();
    this.session.event({ type: 'turn-lost', at: this.session.elapsed(), code, message });
    this.closing ??= this.session.connection.close().then(() => undefined);
  }

  // ---- close (RFC 8656 §8: Refresh with LIFETIME 0 deletes the allocation) ----

  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const wasOpen = !this.closed;
    this.shutDown();
    let freed = false;
    if (wasOpen) {
      try {
        await this.session.request('refresh', [attr('LIFETIME', 0)], { deadlineMs: this.closeTimeoutMs });
        freed = true;
      } catch (error) {
        // 437: the allocation is already gone, which is what close() wants.
        freed = isNatProbeError(error) && error.code === 'turn-allocation-mismatch';
      }
    }
    await this.session.connection.close();
    this.session.event({ type: 'turn-closed', at: this.session.elapsed(), freed });
  }

  /** Stops every timer and listener; the connection stays open for close()'s Refresh. */
  private shutDown(): void {
    if (this.closed) return;
    this.closed = true;
    const clock = this.session.clock;
    if (this.refreshTimer) clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    for (const entry of this.permissions.values()) if (entry.timer) clock.clearTimeout(entry.timer);
    for (const channel of this.channels.values()) if (channel.timer) clock.clearTimeout(channel.timer);
    this.listeners.clear();
    for (const detach of this.detach.splice(0)) detach();
  }
}
