import {
  BatchFormatError,
  GMAIL_BATCH_MAX_CALLS,
  boundaryOf,
  encodeBatchRequest,
  parseBatchResponse,
} from './gmail-batch.codec';

// The response example of Google's batch guide (developers.google.com/workspace/gmail/api/guides/batch), with CRLFs.
const GOOGLE_EXAMPLE = [
  '--batch_pK7JBAk73-E=_AA5eFwv4m2Q=',
  'Content-Type: application/http',
  'Content-ID: <response-8a09ca85-8d1d-4f45-9eb0-da8e8b07ec83+1>',
  '',
  'HTTP/1.1 200 OK',
  'ETag: "lGaP-E0memYDumK16YuUDM_6Gf0/V43j6azD55CPRGb9b6uytDYl61Y"',
  'Content-Type: application/json; charset=UTF-8',
  '',
  '{"kind": "farm#animal", "name": "sheep"}',
  '--batch_pK7JBAk73-E=_AA5eFwv4m2Q=',
  'Content-Type: application/http',
  'Content-ID: <response-8a09ca85-8d1d-4f45-9eb0-da8e8b07ec83+2>',
  '',
  'HTTP/1.1 404 Not Found',
  'Content-Type: application/json; charset=UTF-8',
  '',
  '{"error": {"code": 404}}',
  '--batch_pK7JBAk73-E=_AA5eFwv4m2Q=--',
  '',
].join('\r\n');

describe('Gmail HTTP batch codec', () => {
  it('encodes one application/http part per call with its Content-ID and request line', () => {
    const body = encodeBatchRequest(
      [
        { id: 'a', method: 'get', path: '/gmail/v1/users/me/messages/1?format=raw' },
        {
          id: 'b',
          method: 'POST',
          path: '/gmail/v1/users/me/messages/2/modify',
          body: '{"x":1}',
          headers: { 'Content-Type': 'application/json' },
        },
      ],
      'B',
    );
    expect(body).toBe(
      [
        '--B',
        'Content-Type: application/http',
        'Content-ID: <a>',
        '',
        'GET /gmail/v1/users/me/messages/1?format=raw',
        '',
        '',
        '--B',
        'Content-Type: application/http',
        'Content-ID: <b>',
        '',
        'POST /gmail/v1/users/me/messages/2/modify',
        'Content-Type: application/json',
        'Content-Length: 7',
        '',
        '{"x":1}',
        '--B--',
        '',
      ].join('\r\n'),
    );
  });

  it('refuses an empty batch, more than 100 calls and duplicate ids', () => {
    expect(() => encodeBatchRequest([], 'B')).toThrow(BatchFormatError);
    const many = Array.from({ length: GMAIL_BATCH_MAX_CALLS + 1 }, (_, i) => ({
      id: String(i),
      method: 'GET',
      path: '/x',
    }));
    expect(() => encodeBatchRequest(many, 'B')).toThrow(/at most 100/);
    expect(() => encodeBatchRequest(many.slice(0, 100), 'B')).not.toThrow();
    expect(() =>
      encodeBatchRequest(
        [
          { id: 'a', method: 'GET', path: '/x' },
          { id: 'a', method: 'GET', path: '/y' },
        ],
        'B',
      ),
    ).toThrow(/duplicate/);
  });

  it("parses Google's documented response: per-part status, headers and body, response- prefix removed", () => {
    const parts = parseBatchResponse(
      GOOGLE_EXAMPLE,
      'multipart/mixed; boundary=batch_pK7JBAk73-E=_AA5eFwv4m2Q=',
    );
    expect(parts).toEqual([
      {
        id: '8a09ca85-8d1d-4f45-9eb0-da8e8b07ec83+1',
        status: 200,
        headers: {
          etag: '"lGaP-E0memYDumK16YuUDM_6Gf0/V43j6azD55CPRGb9b6uytDYl61Y"',
          'content-type': 'application/json; charset=UTF-8',
        },
        body: '{"kind": "farm#animal", "name": "sheep"}',
      },
      {
        id: '8a09ca85-8d1d-4f45-9eb0-da8e8b07ec83+2',
        status: 404,
        headers: { 'content-type': 'application/json; charset=UTF-8' },
        body: '{"error": {"code": 404}}',
      },
    ]);
  });

  it('tolerates LF line ends and a quoted boundary', () => {
    const lf = GOOGLE_EXAMPLE.replace(/\r\n/g, '\n');
    const parts = parseBatchResponse(lf, 'multipart/mixed; boundary="batch_pK7JBAk73-E=_AA5eFwv4m2Q="');
    expect(parts.map((p) => [p.status, p.body])).toEqual([
      [200, '{"kind": "farm#animal", "name": "sheep"}'],
      [404, '{"error": {"code": 404}}'],
    ]);
  });

  it('a body that is not a multipart batch is a BatchFormatError, not a silent empty result', () => {
    expect(() => boundaryOf('application/json')).toThrow(BatchFormatError);
    expect(() => parseBatchResponse('{"error":{}}', 'multipart/mixed; boundary=zz')).toThrow(
      BatchFormatError,
    );
    expect(() =>
      parseBatchResponse(
        '--zz\r\nContent-Type: application/http\r\n\r\nnot http\r\n--zz--',
        'multipart/mixed; boundary=zz',
      ),
    ).toThrow(/no HTTP status line/);
    expect(() =>
      parseBatchResponse('--zz\r\nContent-ID: <a>\r\n\r\nHTTP/1.1 200 OK', 'multipart/mixed; boundary=zz'),
    ).toThrow(/missing closing boundary/);
  });
});
