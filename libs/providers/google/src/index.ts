// Google at the edge: the Gmail API on the official client (configured by URL: Google or the sandbox), Pub/Sub push
// token verification, and Google's errors reduced once to our provider error codes.
export * from './provider-error';
export * from './google-error.mapper';
export * from './gmail.types';
export * from './gmail.api';
export * from './pubsub-push.verifier';
export * from './gmail-batch.codec';
