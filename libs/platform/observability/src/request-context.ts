import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What follows one operation (an HTTP request, an event being handled) through logs and the events it causes. */
export interface RequestContext {
  readonly correlationId: string;
  readonly traceparent?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: Partial<RequestContext>, fn: () => T): T {
  return storage.run({ ...context, correlationId: context.correlationId ?? randomUUID() }, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
