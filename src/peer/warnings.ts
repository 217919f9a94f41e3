/**
 * Warnings a peer session gives about its own environment: things that do not stop it from
 * running but make a failure certain or likely, said plainly and early (in the plain output, the
 * event stream and the report) instead of surfacing later as an unexplained check failure.
 */
import { loopbackOnlyWarning } from '../ice/gather.js';
import type { AddressFamily } from '../ice/candidate.js';

/**
 * `loopback-only`: see localAddressWarnings. `signaling-reset`: the signaling server lost this
 * session's state (its Redis restarted empty, or the session expired while away), so the session
 * joined the room afresh and sent its signaling again (src/peer/session.ts).
 */
export type PeerWarningCode = 'loopback-only' | 'signaling-reset';

export interface PeerWarning {
  readonly code: PeerWarningCode;
  readonly message: string;
}

/** `peer-warning`: emitted once per warning (`loopback-only` before gathering starts, `signaling-reset` when it happens). */
export interface PeerWarningEvent extends PeerWarning {
  type: 'peer-warning';
  at: number;
  trial: number;
}

/**
 * The session's warnings about its local addresses. `loopback-only`: no address was asked for
 * (no bindAddress, no hostAddresses) and every interface but loopback is missing, down or without
 * carrier (os.networkInterfaces() lists only interfaces that are up and running).
 */
export function localAddressWarnings(options: { bindAddress?: string; hostAddresses?: readonly string[]; family?: AddressFamily; interfaces?: NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]> }): PeerWarning[] {
  if (options.hostAddresses !== undefined) return [];
  const message = loopbackOnlyWarning({
    ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
    ...(options.family !== undefined ? { family: options.family } : {}),
    ...(options.interfaces !== undefined ? { interfaces: options.interfaces } : {}),
  });
  return message === undefined ? [] : [{ code: 'loopback-only', message }];
}
