export * from './clock.js';
export * from './errors.js';
export * from './rtt.js';
export * from './udp-endpoint.js';
export * from './transactions.js';
