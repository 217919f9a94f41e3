/**
 * When to refresh what (RFC 8656). Each is refreshed a margin before it expires, so one lost
 * Refresh can still be retransmitted in time.
 */

/** RFC 8656 §9: a permission lives 300 s (5 min) unless refreshed. */
export const PERMISSION_LIFETIME_SECONDS = 300;
/** RFC 8656 §12: a channel binding lives 600 s (10 min) unless refreshed. */
export const CHANNEL_LIFETIME_SECONDS = 600;
/** RFC 8656 §7.2: the server's default allocation lifetime when the response carries none. */
export const DEFAULT_ALLOCATION_LIFETIME_SECONDS = 600;
/** How early a refresh goes out: one minute, as RFC 8656 §8's example suggests. */
export const REFRESH_MARGIN_SECONDS = 60;

/** Delay in ms until the refresh of something living `lifetimeSeconds`: a minute early, but never before half of it. */
export function refreshDelayMs(lifetimeSeconds: number): number {
  const seconds = Math.max(lifetimeSeconds - REFRESH_MARGIN_SECONDS, lifetimeSeconds / 2);
  return Math.max(0, seconds) * 1000;
}

/** After a failed refresh, try again this long after (bounded by the expiry). */
export const REFRESH_RETRY_MS = 5000;
