import type { INestApplication } from '@nestjs/common';
import express from 'express';

interface RouterLayer {
  readonly handle: { readonly name?: string };
}

/**
 * The send route takes inline base64 attachments, so it accepts a larger JSON body (SEND_BODY_LIMIT_BYTES) than the
 * service-wide limit. Its parser must run before the global one, which the platform installs before a service can
 * add middleware: it is moved in front of it. Once it has read the body, the global parser skips the request.
 */
export function installSendBodyParser(app: INestApplication, path: string, limitBytes: number): void {
  const instance = app.getHttpAdapter().getInstance() as express.Application & {
    router: { stack: RouterLayer[] };
  };
  instance.use(path, express.json({ limit: limitBytes }));
  const stack = instance.router.stack;
  const globalJson = stack.findIndex((layer) => layer.handle.name === 'jsonParser');
  if (globalJson === -1) return;
  const ours = stack.pop();
  if (ours) stack.splice(globalJson, 0, ours);
}
