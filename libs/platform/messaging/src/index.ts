export * from './event-bus.port';
export * from './bus-closed.error';
export * from './dead-letter-admin';
export * from './in-process.event-bus';
export * from './kafka.event-bus';
export * from './file-dead-letter.store';
export * from './kafka-topic-job';
