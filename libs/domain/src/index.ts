export * from './lib/errors';
export * from './lib/events';
export * from './lib/extract';
export * from './lib/paths';
export * from './lib/pipeline';
export * from './lib/queues';
export * from './lib/signature';
export * from './lib/socket-events';
