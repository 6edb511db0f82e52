import { Writable } from 'node:stream';
import { createLogger } from './logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', destination }) };
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
});
