/**
 * Public entry of `storage/`: artifact stores and metadata stores, each chosen by URI scheme from its registry.
 *
 * Imports only core/.
 */
export * from './metadata/index.js';
export * from './artifacts/index.js';
