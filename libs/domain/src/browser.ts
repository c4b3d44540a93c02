// What the pages may import as values: modules without Node built-ins (the main entry has
// signature.ts, on node:crypto, which a browser bundle cannot resolve). Types come from '@dash/domain'.
export * from './lib/alerts';
export * from './lib/work-gate';
