import { FaultInjector } from './faults';

describe('fault injection', () => {
  it('fails only matching requests, the given number of times, in injection order', () => {
    const faults = new FaultInjector();
    faults.inject({ status: 429, count: 2, pathIncludes: '/messages', mailbox: 'A@x.test' });
    faults.inject({ status: 503, method: 'POST' });
    expect(faults.take({ method: 'GET', path: '/profile', mailbox: 'a@x.test' })).toBeUndefined();
    expect(faults.take({ method: 'GET', path: '/messages/1', mailbox: 'b@x.test' })).toBeUndefined();
    expect(faults.take({ method: 'GET', path: '/messages/1', mailbox: 'a@x.test' })?.status).toBe(429);
    expect(faults.take({ method: 'POST', path: '/messages/send', mailbox: 'a@x.test' })?.status).toBe(429);
    expect(faults.take({ method: 'POST', path: '/messages/send', mailbox: 'a@x.test' })?.status).toBe(503);
    expect(faults.take({ method: 'POST', path: '/messages/send', mailbox: 'a@x.test' })).toBeUndefined();
    expect(faults.triggered).toHaveLength(3);
  });

  it('refuses statuses that are not errors', () => {
    expect(() => new FaultInjector().inject({ status: 200 })).toThrow(/4xx or 5xx/);
  });
});
