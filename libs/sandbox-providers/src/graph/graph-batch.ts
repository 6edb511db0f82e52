import { BodyTooLargeError, type RequestContext, virtualExchange } from '../shared/http-kit';
import { graphError } from './graph-errors';

/** Graph's JSON batching limit: 20 requests per `$batch`. */
export const GRAPH_BATCH_LIMIT = 20;
const BATCH_BODY_LIMIT = 4 * 1024 * 1024;

export const GRAPH_BATCH_PATHS = ['/v1.0/$batch', '/beta/$batch'];

interface BatchStep {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

interface StepResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

const bad = (message: string) => graphError(400, 'BadRequest', message);

function validate(input: unknown): BatchStep[] {
  const requests = (input as { requests?: unknown } | undefined)?.requests;
  if (!Array.isArray(requests)) throw bad('Invalid batch payload format: a requests array is required.');
  if (requests.length === 0) throw bad('Invalid batch payload format: no requests.');
  if (requests.length > GRAPH_BATCH_LIMIT)
    throw bad(`Number of batch request steps exceeds the maximum value of ${GRAPH_BATCH_LIMIT}.`);
  const ids = new Set<string>();
  const steps = requests.map((r: Partial<BatchStep>, i) => {
    if (typeof r?.id !== 'string' || r.id === '') throw bad(`Request ${i + 1}: id is required.`);
    if (ids.has(r.id)) throw bad(`Request id ${r.id} is duplicated.`);
    ids.add(r.id);
    if (typeof r.method !== 'string' || typeof r.url !== 'string')
      throw bad(`Request ${r.id}: method and url are required.`);
    if (/^https?:/i.test(r.url)) throw bad(`Request ${r.id}: url must be relative (e.g. /me/messages).`);
    if (r.body !== undefined && !Object.keys(r.headers ?? {}).some((h) => h.toLowerCase() === 'content-type'))
      throw bad(`Request ${r.id}: a body needs a Content-Type header.`);
    return r as BatchStep;
  });
  for (const s of steps) {
    for (const d of s.dependsOn ?? []) {
      if (!ids.has(d) || d === s.id)
        throw bad(`Request ${s.id}: dependsOn ${d} is not a request of this batch.`);
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const byId = new Map(steps.map((s) => [s.id, s]));
  const visit = (s: BatchStep): void => {
    if (state.get(s.id) === 'done') return;
    if (state.get(s.id) === 'visiting') throw bad(`Request ${s.id}: dependsOn forms a cycle.`);
    state.set(s.id, 'visiting');
    for (const d of s.dependsOn ?? []) visit(byId.get(d) as BatchStep);
    state.set(s.id, 'done');
  };
  steps.forEach(visit);
  return steps;
}

/**
 * `POST /v1.0/$batch`, as Graph serves it: up to 20 requests (`id`, `method`, `url` relative to the version,
 * optional `headers`, `body`, `dependsOn`), each run through the ordinary routes as its own request (authenticated
 * with the batch's token, throttled per mailbox, fault-injected), answered by 200 `{responses:[{id,status,headers,
 * body}]}`. A JSON answer's body is the JSON; any other body (e.g. a message's MIME from `$value`) is base64, as Graph
 * returns binary content in a batch. A request whose dependency failed gets 424. More than 20 requests is a 400.
 */
export function graphBatchHandler(
  dispatch: (ctx: RequestContext) => Promise<void>,
  baseUrl: () => string,
  /** Throws the 401 when the batch's own token is missing or bad: that fails the whole batch, as at Graph. */
  authenticate: (ctx: RequestContext) => void,
) {
  return async (ctx: RequestContext): Promise<void> => {
    if (ctx.method !== 'POST') throw graphError(405, 'Request_BadRequest', 'Batch requests must be POSTed.');
    authenticate(ctx);
    let input: unknown;
    try {
      input = await ctx.json(BATCH_BODY_LIMIT);
    } catch (e) {
      if (e instanceof BodyTooLargeError) throw graphError(413, 'RequestEntityTooLarge', 'Batch too large.');
      throw bad('Invalid batch payload format: the body is not JSON.');
    }
    const steps = validate(input);
    const version = ctx.path.split('/')[1];
    const byId = new Map(steps.map((s) => [s.id, s]));
    const results = new Map<string, Promise<StepResponse>>();

    const run = (step: BatchStep): Promise<StepResponse> => {
      const known = results.get(step.id);
      if (known) return known;
      const deps = (step.dependsOn ?? []).map((d) => run(byId.get(d) as BatchStep));
      const result = (async (): Promise<StepResponse> => {
        const done = await Promise.all(deps);
        if (done.some((d) => d.status >= 400))
          return {
            id: step.id,
            status: 424,
            headers: { 'Content-Type': 'application/json' },
            body: { error: { code: 'FailedDependency', message: 'A request this one depends on failed.' } },
          };
        const headers: Record<string, string> = { ...(step.headers ?? {}) };
        for (const name of ['authorization', 'client-request-id']) {
          const value = ctx.header(name);
          if (value && !Object.keys(headers).some((h) => h.toLowerCase() === name)) headers[name] = value;
        }
        const contentType = Object.entries(headers).find(([h]) => h.toLowerCase() === 'content-type')?.[1];
        const body =
          step.body === undefined
            ? undefined
            : typeof step.body === 'string' && !/json/i.test(contentType ?? '')
              ? Buffer.from(step.body, /^text\/plain/i.test(contentType ?? '') ? 'utf8' : 'base64')
              : Buffer.from(JSON.stringify(step.body));
        const url = step.url.startsWith('/') ? step.url : `/${step.url}`;
        const exchange = virtualExchange({
          method: step.method.toUpperCase(),
          url: `/${version}${url}`,
          baseUrl: baseUrl(),
          headers,
          body,
        });
        await dispatch(exchange.ctx);
        const answer = await exchange.done;
        const type = answer.headers['content-type'] ?? '';
        const out: StepResponse = {
          id: step.id,
          status: answer.status,
          headers: type ? { 'Content-Type': type } : {},
        };
        if (answer.headers['retry-after']) out.headers['Retry-After'] = answer.headers['retry-after'];
        if (answer.headers.location) out.headers.Location = answer.headers.location;
        if (answer.body.length > 0) {
          out.body = /json/i.test(type)
            ? (JSON.parse(answer.body.toString('utf8')) as unknown)
            : answer.body.toString('base64');
        }
        return out;
      })();
      results.set(step.id, result);
      return result;
    };

    // Requests without dependencies may run in any order at Graph; here they run one after the other, which keeps
    // a batch within the mailbox's concurrency like Outlook's own scheduling (at most 4 at a time) does.
    const responses: StepResponse[] = [];
    for (const step of steps) responses.push(await run(step));
    ctx.send(200, JSON.stringify({ responses }), { 'content-type': 'application/json; charset=utf-8' });
  };
}
