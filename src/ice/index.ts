/**
 * ICE (RFC 8445) for nat-probe: the pure parts. Candidates and priorities, SDP candidate syntax,
 * pair formation, the checklist, the clock-driven scheduler, role conflicts and consent timing.
 * The I/O agent (agent.ts) drives these; it is added separately.
 */
export * from './errors.js';
export * from './candidate.js';
export * from './sdp-candidate.js';
export * from './pair.js';
export * from './checklist.js';
export * from './rto.js';
export * from './scheduler.js';
export * from './role-conflict.js';
export * from './consent.js';
