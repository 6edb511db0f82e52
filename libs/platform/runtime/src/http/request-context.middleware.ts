import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { Logger, ServiceMetrics, runWithContext } from '@mailbridge/platform-observability';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request a correlation id (the caller's `X-Correlation-Id` / `X-Request-Id` when well-formed), echoes it,
 * runs the request inside it (so logs and the events it causes carry it), and logs + measures the outcome.
 */
export function requestContextMiddleware(logger: Logger, metrics: ServiceMetrics) {
  const requests = metrics.counter('http_requests_total', 'HTTP requests', ['method', 'route', 'status']);
  const duration = metrics.histogram('http_request_duration_seconds', 'HTTP request duration', [
    'method',
    'route',
  ]);
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.header('x-correlation-id') ?? req.header('x-request-id');
    const correlationId = given && SAFE_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Correlation-Id', correlationId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The matched route pattern, not the raw path: ids in paths would explode metric cardinality.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      duration.observe({ method: req.method, route }, seconds);
      if (!req.path.startsWith('/health') && req.path !== '/metrics') {
        logger.info(
          {
            correlationId,
            method: req.method,
            path: req.path,
            status: res.statusCode,
            ms: Math.round(seconds * 1000),
          },
          'request',
        );
      }
    });
    runWithContext({ correlationId, traceparent: req.header('traceparent') ?? undefined }, next);
  };
}
