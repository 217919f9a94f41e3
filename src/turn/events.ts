/**
 * What the TURN client reports while it works, for the `turn` command's live view and for
 * logs. Addresses are "ip:port" strings; no event ever carries a password, key or secret.
 * `at` is ms since allocate() started, on the injected clock.
 */
import type { TurnTransport } from './url.js';

export type TurnRefreshTarget = 'allocation' | 'permission' | 'channel';

export type TurnClientEvent =
  | { type: 'turn-connected'; at: number; transport: TurnTransport; local: string; server: string }
  | { type: 'turn-address-retry'; at: number; local: string; status: number }
  | { type: 'turn-challenge'; at: number; realm: string; algorithm: 'md5' | 'sha256'; rttMs: number }
  | { type: 'turn-stale-nonce'; at: number; method: string }
  | { type: 'turn-allocated'; at: number; relayed: string; mapped: string; lifetimeSeconds: number; rttMs: number }
  | { type: 'turn-permission'; at: number; peers: string[]; rttMs: number }
  | { type: 'turn-channel'; at: number; channel: number; peer: string; rttMs: number }
  | { type: 'turn-refreshed'; at: number; target: TurnRefreshTarget; peer?: string; lifetimeSeconds?: number }
  | { type: 'turn-refresh-failed'; at: number; target: TurnRefreshTarget; peer?: string; code: string; message: string }
  | { type: 'turn-lost'; at: number; code: string; message: string }
  | { type: 'turn-closed'; at: number; freed: boolean };
