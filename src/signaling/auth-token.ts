/**
 * Operator tokens: what a join must carry when the server runs with an auth secret
 * (`serve --auth-secret`). Minted by `nat-probe token`, checked on every new join.
 *
 *   npt1.<payload>.<signature>
 *   payload   = base64url(JSON {"room":"lab-1"} or {"prefix":"ci-"}, plus "exp" (Unix seconds))
 *   signature = base64url(HMAC-SHA256(secret, "npt1." + payload))
 *
 * HMAC (RFC 2104) with SHA-256: only holders of the secret can mint; the server checks in
 * constant time (timingSafeEqual). A token names one room or a room-name prefix, so a CI fleet
 * can hold one prefix token for all its rooms; `exp` bounds its life. Tokens are bearer secrets:
 * the server never logs, echoes or counts them by value.
 *
 * There is no role field. An earlier draft carried an optional `role` that nothing interpreted:
 * a claim the server does not enforce only suggests a control that is not there. A payload with
 * any field beyond room/prefix and exp (role included) is refused as malformed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const AUTH_TOKEN_VERSION = 'npt1';

const Payload = z.strictObject({
  room: z.string().min(1).max(128).optional(),
  prefix: z.string().min(1).max(128).optional(),
  exp: z.number().int().positive(),
});
export type AuthTokenPayload = z.infer<typeof Payload>;

export interface MintOptions {
  /** Exactly one of room and prefix. */
  room?: string;
  prefix?: string;
  /** Lifetime from `nowSeconds`. */
  ttlSeconds: number;
  nowSeconds: number;
}

function sign(secret: string, signed: string): string {
  return createHmac('sha256', secret).update(signed).digest('base64url');
}

export function mintAuthToken(secret: string, options: MintOptions): string {
  if ((options.room === undefined) === (options.prefix === undefined)) throw new Error('a token names exactly one of room and prefix');
  const payload: AuthTokenPayload = {
    ...(options.room !== undefined ? { room: options.room } : { prefix: options.prefix! }),
    exp: Math.floor(options.nowSeconds + options.ttlSeconds),
  };
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signed = `${AUTH_TOKEN_VERSION}.${encoded}`;
  return `${signed}.${sign(secret, signed)}`;
}

export type AuthCheck =
  | { ok: true; exp: number }
  /** `message` never contains the token. */
  | { ok: false; message: string };

/** Checks `token` for a join of `room` at `nowSeconds`. */
export function verifyAuthToken(secret: string, token: string | undefined, room: string, nowSeconds: number): AuthCheck {
  if (token === undefined) return { ok: false, message: 'This server requires an operator token: give --auth-token (or NAT_PROBE_AUTH_TOKEN), minted with `nat-probe token`.' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== AUTH_TOKEN_VERSION) return { ok: false, message: `The operator token is malformed (expected ${AUTH_TOKEN_VERSION}.<payload>.<signature>).` };
  const expected = Buffer.from(sign(secret, `${parts[0]}.${parts[1]}`));
  const given = Buffer.from(parts[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, message: 'The operator token was not signed with this server\'s secret.' };
  let payload: AuthTokenPayload;
  try {
    payload = Payload.parse(JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, message: 'The operator token\'s payload is malformed.' };
  }
  if (payload.exp <= nowSeconds) return { ok: false, message: `The operator token expired at ${new Date(payload.exp * 1000).toISOString()}; mint a new one.` };
  const allowed = payload.room !== undefined ? payload.room === room : payload.prefix !== undefined && room.startsWith(payload.prefix);
  if (!allowed) {
    const scope = payload.room !== undefined ? `room "${payload.room}"` : `rooms starting with "${payload.prefix ?? ''}"`;
    return { ok: false, message: `The operator token is for ${scope}, not "${room}".` };
  }
  return { ok: true, exp: payload.exp };
}
