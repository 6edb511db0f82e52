import { isReturnUrlAllowed, withOutcome } from './return-url-policy';

describe('return URL allow-list', () => {
  const list = ['http://localhost', 'https://crm.example.com/app/', 'https://admin.example.com'];

  it.each([
    'http://localhost',
    'http://localhost/',
    'http://localhost:3000/settings?tab=email',
    'HTTP://LOCALHOST:8080/x#frag',
    'https://crm.example.com/app/',
    'https://crm.example.com/app/settings/email?x=1',
    'https://admin.example.com/anything',
    'https://admin.example.com:8443/anything',
  ])('allows %s', (url) => expect(isReturnUrlAllowed(url, list)).toBe(true));

  it.each([
    'http://localhost.evil.test/',
    'http://localhost@evil.test/',
    'http://user:pw@localhost/',
    'https://localhost/',
    'https://crm.example.com/',
    'https://crm.example.com/application',
    'https://crm.example.com.evil.test/app/',
    'javascript:alert(1)',
    'not a url',
    '//localhost/x',
    'ftp://localhost/',
  ])('refuses %s', (url) => expect(isReturnUrlAllowed(url, list)).toBe(false));

  it('refuses everything with an empty list', () => {
    expect(isReturnUrlAllowed('http://localhost/', [])).toBe(false);
  });

  it('appends the outcome and keeps the existing query', () => {
    expect(
      withOutcome('http://localhost:3000/s?tab=mail', { status: 'error', reason: 'access_denied' }),
    ).toBe('http://localhost:3000/s?tab=mail&status=error&reason=access_denied');
  });
});
