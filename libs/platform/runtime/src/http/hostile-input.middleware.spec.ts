import {
  jsonBodyProblem,
  MAX_JSON_DEPTH,
  requestTargetProblem,
  headerProblem,
} from './hostile-input.middleware';

describe('hostile input (issue 14: 400, never 500)', () => {
  it('ordinary request targets pass: encoded reserved characters, UTF-8 escapes, plus signs', () => {
    for (const target of [
      '/v1/locations/loc_a/contacts/ct_1',
      '/v1/locations/loc_a/contacts?email=jane%2Btag%40example.com',
      '/internal/smart-bcc/bcc-abc%40bcc.example',
      '/v1/oauth/google/callback?state=a.b-c_d&code=4%2F0Ad&scope=https%3A%2F%2Fmail.google.com%2F',
      '/v1/webhooks/microsoft?validationToken=Validation%3A+Testing+client',
      '/v1/locations/loc_a/contacts/%E4%B8%AD%F0%9F%98%80',
    ])
      expect(requestTargetProblem(target)).toBeUndefined();
  });

  it.each([
    ['NUL escaped', '/v1/locations/loc_a/contacts/%00'],
    ['NUL in the query', '/v1/locations/loc_a/contacts?email=%00'],
    ['truncated escape', '/v1/x/%E0%A4%A'],
    ['not hex', '/v1/x?y=%zz'],
    ['escape that is not UTF-8', '/v1/x/%C3%28'],
    ['encoded lone surrogate', '/v1/x/%ED%A0%80'],
    ['raw byte ≥ 0x80', '/v1/x/\u00ff'],
  ])('a request target with %s is refused (invalid_url)', (_what, target) => {
    expect(requestTargetProblem(target)).toMatchObject({ kind: 'validation', code: 'invalid_url' });
  });

  it('a header whose bytes are not UTF-8 is refused; UTF-8 and ASCII headers pass', () => {
    expect(headerProblem(['X-Note', Buffer.from([0x61, 0xff]).toString('latin1')])).toMatchObject({
      code: 'invalid_header',
    });
    expect(headerProblem(['X-Note', Buffer.from('café', 'utf8').toString('latin1'), 'Accept', '*/*'])).toBe(
      undefined,
    );
  });

  it('JSON bodies: NUL, lone surrogates, depth, non-finite and unsafe integers are refused; ordinary bodies pass', () => {
    expect(jsonBodyProblem({ name: 'Jo', n: 1.5, big: 9007199254740991, list: [{ a: ['😀'] }] })).toBe(
      undefined,
    );
    expect(jsonBodyProblem({ to: [{ name: 'x\u0000' }] })).toMatchObject({
      code: 'invalid_text',
      details: { path: 'to.0.name' },
    });
    expect(jsonBodyProblem({ s: 'a\uD800' })).toMatchObject({ code: 'invalid_text' });
    expect(jsonBodyProblem({ ['k\u0000']: 1 })).toMatchObject({ code: 'invalid_text' });
    expect(jsonBodyProblem({ n: Infinity })).toMatchObject({ code: 'number_out_of_range' });
    expect(jsonBodyProblem({ n: 2 ** 60 })).toMatchObject({ code: 'number_out_of_range' });
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    expect(jsonBodyProblem(deep)).toMatchObject({ code: 'body_too_deep' });
    const atLimit = JSON.parse('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)) as unknown;
    expect(jsonBodyProblem(atLimit)).toBeUndefined();
  });
});
