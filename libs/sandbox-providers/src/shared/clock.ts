/** Time source of the emulators: token expiry, history retention, quota windows and timestamps all read it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to, so tests can expire tokens, history and subscriptions without waiting. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number | Date = Date.UTC(2025, 0, 6, 9, 0, 0)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(time: number | Date): void {
    this.current = typeof time === 'number' ? time : time.getTime();
  }
}
