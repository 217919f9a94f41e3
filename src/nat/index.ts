export * from './types.js';
export * from './classify.js';
export * from './compatibility.js';
export * from './port-allocation.js';
export * from './servers.js';
export * from './local-addresses.js';
export * from './detect.js';
export * from './interpret.js';
