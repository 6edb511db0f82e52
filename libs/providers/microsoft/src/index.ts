// Microsoft at the edge: Graph mail on the official client (configured by URL: Graph or the sandbox), notification
// parsing and clientState checks, and Graph's errors reduced once to our provider error codes.
export * from './provider-error';
export * from './graph-error.mapper';
export * from './graph-mail.types';
export * from './graph-mail.api';
export * from './graph-notification';
