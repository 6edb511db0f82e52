import { PushRedeliveries } from './push-redeliveries';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('PushRedeliveries (issue 16: a redelivered Pub/Sub push is handed off once)', () => {
  let now = 0;
  const make = (maxRemembered = 100) =>
    new PushRedeliveries({ rememberMs: 60_000, maxRemembered, now: () => now });

  beforeEach(() => (now = 1_000_000));

  it('a redelivery while the first attempt still waits for the database joins it: one hand-off, both answered after its commit', async () => {
    const r = make();
    const commit = deferred();
    const handOff = jest.fn(() => commit.promise);
    const first = r.once('m1', handOff);
    const again = r.once('m1', handOff);
    let answered = 0;
    void first.then(() => answered++);
    void again.then(() => answered++);
    await new Promise((res) => setImmediate(res));
    expect(answered).toBe(0); // nobody, the redelivery included, is told "done" before the commit
    commit.resolve();
    expect(await first).toBe('handed_off');
    expect(await again).toBe('redelivery');
    expect(handOff).toHaveBeenCalledTimes(1);
  });

  it('a redelivery after the commit is answered without a hand-off; another id is handed off', async () => {
    const r = make();
    const handOff = jest.fn(async () => undefined);
    await r.once('m1', handOff);
    expect(await r.once('m1', handOff)).toBe('redelivery');
    expect(await r.once('m2', handOff)).toBe('handed_off');
    expect(handOff).toHaveBeenCalledTimes(2);
  });

  it('a failed hand-off is not remembered: the redeliveries that joined it fail too, the next one hands off again', async () => {
    const r = make();
    const commit = deferred();
    const first = r.once('m1', () => commit.promise);
    const joined = r.once('m1', async () => undefined);
    commit.reject(new Error('database gone'));
    await expect(first).rejects.toThrow('database gone');
    await expect(joined).rejects.toThrow('database gone');
    const handOff = jest.fn(async () => undefined);
    expect(await r.once('m1', handOff)).toBe('handed_off');
    expect(handOff).toHaveBeenCalledTimes(1);
  });

  it('forgets ids after rememberMs and beyond maxRemembered (oldest first), so memory stays bounded', async () => {
    const r = make(2);
    const handOff = jest.fn(async () => undefined);
    await r.once('a', handOff);
    await r.once('b', handOff);
    await r.once('c', handOff); // 'a' is forgotten: at most 2 kept
    expect(await r.once('c', handOff)).toBe('redelivery');
    expect(await r.once('a', handOff)).toBe('handed_off');
    now += 60_001;
    expect(await r.once('c', handOff)).toBe('handed_off');
    expect(handOff).toHaveBeenCalledTimes(5);
  });

  it('a push without an id is always handed off', async () => {
    const r = make();
    const handOff = jest.fn(async () => undefined);
    await r.once(undefined, handOff);
    await r.once(undefined, handOff);
    expect(handOff).toHaveBeenCalledTimes(2);
  });
});
