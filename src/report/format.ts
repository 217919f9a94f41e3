/** Small formatting helpers shared by every reporter. */
export { formatTransportAddress } from '../stun/index.js';

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}
