export * from './service-under-test';
export * from './event-log';
export * from './schema-drift';
