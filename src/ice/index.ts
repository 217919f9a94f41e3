/**
 * ICE (RFC 8445) for nat-probe. The pure parts: candidates and priorities, SDP candidate syntax,
 * pair formation, the checklist, the clock-driven scheduler, role conflicts and consent timing.
 * The I/O parts: the agent (agent.ts) with gathering (gather.ts) and the check messages
 * (check-codec.ts).
 */
export * from './errors.js';
export * from './candidate.js';
export * from './sdp-candidate.js';
export * from './pair.js';
export * from './checklist.js';
export * from './scheduler.js';
export * from './role-conflict.js';
export * from './consent.js';
export * from './credentials.js';
export * from './check-codec.js';
export * from './gather.js';
export * from './agent-result.js';
export * from './agent.js';
