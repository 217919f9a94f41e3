export * from './constants.js';
export * from './errors.js';
export * from './ip.js';
export * from './attribute-types.js';
export { attributeNameOf } from './attribute-codecs.js';
export * from './integrity.js';
export * from './message.js';
export * from './transaction-id.js';
