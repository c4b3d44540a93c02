export * from './address';
export * from './public-url';
export * from './outbound-request';
