import type { Server } from 'node:http';
import { INestApplication, Module, ValidationPipe } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ServiceMetrics, type Logger } from '@mailbridge/platform-observability';
import { AppError } from './http/app-error';
import { ErrorFilter } from './http/error.filter';
import { requestContextMiddleware } from './http/request-context.middleware';
import {
  answerClientErrorsInStandardShape,
  bodyVerifyProblem,
  hostileBodyMiddleware,
  hostileRequestMiddleware,
  jsonParserOptions,
} from './http/hostile-input.middleware';
import { NestPinoLogger } from './nest-logger';
import { PlatformModule } from './platform.module';
import type { ServiceDefinition, ServiceHost, ServiceListener } from './service-host';
import { validationProblems } from './http/validation-problems';
import type { RetentionPruner } from '@mailbridge/platform-persistence';
import { RETENTION_PRUNER } from './tokens';

/**
 * body-parser's errors (malformed JSON, body too large) become AppErrors here, before Nest reduces them to a bare
 * BadRequestException and the reason (and so our error code) is lost. Any other error of the client's making is a 4xx
 * too: left as it is, ErrorFilter would answer (and log) it as a 500 internal error.
 */
function translateBodyParserErrors(logger: Logger) {
  return (err: unknown, req: Request, _res: Response, next: NextFunction): void => {
    const e = err as
      { type?: string; code?: string; status?: number; received?: number; expected?: number } | undefined;
    const hostile = bodyVerifyProblem(err);
    if (hostile) return next(hostile);
    if (e?.type === 'entity.parse.failed')
      return next(new AppError('validation', 'invalid_json', 'Request body is not valid JSON'));
    if (e?.type === 'entity.too.large')
      return next(new AppError('too_large', 'payload_too_large', 'Request body is too large'));
    if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') {
      return next(
        new AppError('validation', 'unsupported_encoding', 'Request body encoding is not supported'),
      );
    }
    // The client closed the connection before its body arrived (gave up, timed out, crashed): nothing failed on our
    // side and nobody reads the answer, so it is one info line and a 4xx, not an internal error with a stack trace.
    // raw-body reports it as `request.aborted`; Node can also fail the stream with ECONNRESET "aborted".
    if (e?.type === 'request.aborted' || e?.code === 'ECONNRESET' || e?.code === 'ECONNABORTED') {
      logger.info(
        { method: req.method, path: req.path, received: e.received, expected: e.expected },
        'request aborted by the client',
      );
      return next(
        new AppError(
          'validation',
          'request_aborted',
          'The client closed the connection before sending the whole body',
        ),
      );
    }
    if (e?.type === 'request.size.invalid')
      return next(
        new AppError('validation', 'invalid_body_length', 'Request body does not match its Content-Length'),
      );
    if (typeof e?.type === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 500)
      return next(new AppError('validation', 'invalid_body', 'Request body could not be read'));
    next(err);
  };
}

export interface RunningService {
  readonly name: string;
  readonly url: string;
  readonly app: INestApplication;
  readonly metrics: ServiceMetrics;
  /** Its listeners besides HTTP (ServiceDefinition.listeners), read once it has started. */
  readonly listeners: readonly ServiceListener[];
  close(): Promise<void>;
}

/** Builds, configures and starts one service on its port. Used by each app's main.ts and by the embedded launcher. */
export async function startService(
  definition: ServiceDefinition,
  host: ServiceHost,
): Promise<RunningService> {
  const metrics = host.metrics ?? new ServiceMetrics(definition.name);

  @Module({ imports: [PlatformModule.forService(definition, host, metrics), definition.module] })
  class ServiceRootModule {}

  const app = await NestFactory.create<NestExpressApplication>(ServiceRootModule, {
    logger: new NestPinoLogger(host.logger.child({ component: 'nest' })),
    bodyParser: false,
    abortOnError: false,
  });
  app.disable('x-powered-by');
  app.set('trust proxy', 1);
  app.use(requestContextMiddleware(host.logger, metrics));
  // Hostile input (NUL, broken encodings, deep JSON, huge numbers) is a 400 here, for every route of every service.
  app.use(hostileRequestMiddleware());
  // Route-specific parsers first: body-parser skips a body that is already read, so the global limit applies elsewhere.
  for (const { path, limitBytes } of definition.jsonBodyLimits?.(app) ?? [])
    app.use(path, json(jsonParserOptions(limitBytes)));
  app.useBodyParser('json', jsonParserOptions(host.bodyLimitBytes ?? 1_048_576));
  app.use(translateBodyParserErrors(host.logger));
  app.use(hostileBodyMiddleware());
  app.useGlobalFilters(new ErrorFilter(host.logger));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) =>
        new AppError('validation', 'invalid_request', 'Request is invalid', validationProblems(errors)),
    }),
  );
  definition.configure?.(app);
  app.get<RetentionPruner>(RETENTION_PRUNER).add(...(definition.retention?.(app) ?? []));

  const openApi = new DocumentBuilder()
    .setTitle(definition.openApi.title)
    .setDescription(definition.openApi.description)
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'crm')
    // /internal routes: the platform's shared service credential (INTERNAL_API_TOKEN), never a CRM token.
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description: 'The service credential INTERNAL_API_TOKEN (service to service)',
      },
      'internal',
    )
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openApi), {
    jsonDocumentUrl: 'docs-json',
  });

  answerClientErrorsInStandardShape(app.getHttpServer() as Server);
  // A pre-bound socket is taken over as it is (Node's listen(handle)); Nest's type only names ports.
  if (host.listenOn) await app.listen(host.listenOn as unknown as number);
  else await app.listen(host.port, host.host ?? '0.0.0.0');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://localhost:${address.port}`;
  host.logger.info({ url }, `${definition.name} listening`);
  return {
    name: definition.name,
    url,
    app,
    metrics,
    listeners: definition.listeners?.(app) ?? [],
    close: () => app.close(),
  };
}
