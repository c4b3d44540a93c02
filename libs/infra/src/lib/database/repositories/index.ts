export * from './dedup.repository';
export * from './events.repository';
export * from './failures.repository';
export * from './pg-errors';
export * from './pipelines.repository';
export * from './stats.repository';
export * from './storage.repository';
export * from './tokens.repository';
