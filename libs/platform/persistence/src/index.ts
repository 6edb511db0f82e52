export * from './embedded-postgres';
export * from './data-source.factory';
export * from './platform-tables.migration';
export * from './quarantine.migration';
export * from './quarantine.repository';
export * from './unit-of-work';
export * from './outbox-relay';
export * from './retention-pruner';
