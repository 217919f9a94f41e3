/**
 * Just enough SDP to put our agent in front of a WebRTC stack (node-datachannel / libjuice) in
 * the interop tests: one data-channel m-line carrying our ICE credentials and candidates, and the
 * reading of theirs. Our agent does no DTLS, so the fingerprint is a placeholder; the WebRTC side
 * reaches ICE "connected" before DTLS would start.
 */
import { formatCandidate } from '../../src/ice/sdp-candidate.js';
import type { Candidate } from '../../src/ice/candidate.js';
import type { IceParameters } from '../../src/ice/credentials.js';

const PLACEHOLDER_FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 + 11).toString(16).padStart(2, '0').toUpperCase()).join(':');

/** An offer or answer for one `webrtc-datachannel` m-line (RFC 8841), with our ICE attributes (RFC 8839). */
export function dataChannelSdp(parameters: IceParameters, candidates: readonly Candidate[], role: 'offer' | 'answer'): string {
  const lines = [
    'v=0',
    `o=nat-probe ${Date.now()} 0 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    `a=fingerprint:sha-256 ${PLACEHOLDER_FINGERPRINT}`,
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=sendrecv',
    'a=sctp-port:5000',
    // RFC 8842: the offerer says actpass; the answerer picks a side.
    `a=setup:${role === 'offer' ? 'actpass' : 'passive'}`,
    `a=ice-ufrag:${parameters.ufrag}`,
    `a=ice-pwd:${parameters.pwd}`,
    ...candidates.map((candidate) => formatCandidate(candidate, { withPrefix: true })),
    'a=end-of-candidates',
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** ice-ufrag and ice-pwd from a session description. */
export function iceParametersOf(sdp: string): IceParameters {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
  const pwd = /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1];
  if (ufrag === undefined || pwd === undefined) throw new Error(`no ICE credentials in:\n${sdp}`);
  return { ufrag, pwd };
}
