export * from './envelope';
export * from './topics';
export * from './event-catalog';
export * from './catalog';
export * from './events/common';
export * from './events/contacts.events';
export { buildAsyncApiDocument } from './asyncapi';
