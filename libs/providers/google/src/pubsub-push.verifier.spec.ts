import { decodeGmailPush } from './pubsub-push.verifier';

describe('decodeGmailPush', () => {
  const wrap = (data: string, extra: Record<string, unknown> = {}) => ({ message: { data, ...extra } });

  it('reads either base64 alphabet, with or without padding, and either message id spelling', () => {
    const json = JSON.stringify({ emailAddress: 'a@b.test', historyId: 12345 });
    expect(decodeGmailPush(wrap(Buffer.from(json).toString('base64'), { message_id: 'm1' }))).toEqual({
      emailAddress: 'a@b.test',
      historyId: '12345',
      messageId: 'm1',
    });
    expect(decodeGmailPush(wrap(Buffer.from(json).toString('base64url')))?.historyId).toBe('12345');
  });

  it('is undefined for anything that is not a Gmail notification', () => {
    expect(decodeGmailPush(undefined)).toBeUndefined();
    expect(decodeGmailPush({ message: {} })).toBeUndefined();
    expect(decodeGmailPush(wrap(Buffer.from('not json').toString('base64')))).toBeUndefined();
    expect(decodeGmailPush(wrap(Buffer.from('{"emailAddress":1}').toString('base64')))).toBeUndefined();
  });
});
