import { Writable } from 'node:stream';
import { duplicateJsonKeys } from '@mailbridge/testing';
import { createLogger } from './logger';
import { runWithContext } from './request-context';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', destination, format: 'json' }) };
}

describe('createLogger', () => {
  it('CON-1: tokens, secrets and an OAuth callback code never reach a log line, however nested', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        accessToken: 'ya29.a',
        body: { refresh_token: '1//r', client_secret: 's3' },
        req: { headers: { authorization: 'Bearer x' }, query: { code: '4/0Aoauth', state: 'st' } },
        query: { code: '4/0Boauth' },
      },
      'connected',
    );
    const line = lines.join('');
    for (const secret of ['ya29.a', '1//r', 's3', 'Bearer x', '4/0Aoauth', '4/0Boauth']) {
      expect(line).not.toContain(secret);
    }
    expect(JSON.parse(line)).toMatchObject({ req: { query: { state: 'st' } }, msg: 'connected' });
  });

  it('error codes stay readable (they are how an operator finds the cause)', () => {
    const { lines, logger } = capture();
    logger.warn({ sendId: 's-1', code: 'sending_cap_reached', err: { code: 'ECONNRESET' } }, 'send failed');
    expect(JSON.parse(lines.join(''))).toMatchObject({
      code: 'sending_cap_reached',
      err: { code: 'ECONNRESET' },
    });
  });

  it('a child of a child binding the same key writes it once, the innermost value winning', () => {
    const { lines, logger } = capture();
    const child = logger
      .child({ service: 'sync-engine' })
      .child({ component: 'bus' })
      .child({ component: 'kafka' });
    child.info('bound');
    child.info({ component: 'msal', service: 'call' }, 'the call wins');
    const [bound, call] = lines;
    expect(duplicateJsonKeys(bound)).toEqual([]);
    expect(JSON.parse(bound)).toMatchObject({ service: 'sync-engine', component: 'kafka', msg: 'bound' });
    expect(duplicateJsonKeys(call)).toEqual([]);
    expect(JSON.parse(call)).toMatchObject({ service: 'call', component: 'msal' });
    expect(child.bindings()).toEqual({ service: 'sync-engine', component: 'kafka' });
  });

  it('a child keeps its parent level and redaction', () => {
    const { lines, logger } = capture();
    logger.level = 'debug';
    logger.child({ component: 'c' }).debug({ token: 't0ken' }, 'debug line');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('t0ken');
  });

  it('logs trace_id and span_id of the W3C traceparent, and the correlation id', () => {
    const { lines, logger } = capture();
    runWithContext(
      { correlationId: 'corr-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      () => logger.child({ component: 'x' }).info('traced'),
    );
    runWithContext({ correlationId: 'corr-2', traceparent: 'garbage' }, () => logger.info('untraced'));
    expect(JSON.parse(lines[0])).toMatchObject({
      correlationId: 'corr-1',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    });
    expect(JSON.parse(lines[1])).toMatchObject({ correlationId: 'corr-2' });
    expect(JSON.parse(lines[1])).not.toHaveProperty('trace_id');
  });
});
