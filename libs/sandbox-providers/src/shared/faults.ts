/** An injected failure: the next `count` matching requests answer `status` instead of being served. */
export interface FaultSpec {
  status: number;
  /** How many requests to fail; default 1. Use a large number (or `Infinity` in code) for a storm. */
  count?: number;
  method?: string;
  /** Substring of the request path, e.g. `/messages/send` or `/mailFolders`. */
  pathIncludes?: string;
  /** Only requests made for this mailbox (address, case-insensitive). */
  mailbox?: string;
  /** Sent as `Retry-After` (seconds) on 429/503; Graph's default is 1, Gmail sends none. */
  retryAfterSeconds?: number;
}

export interface FaultTarget {
  method: string;
  path: string;
  mailbox?: string;
}

interface ActiveFault extends FaultSpec {
  id: number;
  remaining: number;
}

/** Queue of injected failures, consumed in injection order by matching requests. */
export class FaultInjector {
  private faults: ActiveFault[] = [];
  private nextId = 1;
  readonly triggered: { id: number; status: number; method: string; path: string; mailbox?: string }[] = [];

  inject(spec: FaultSpec): number {
    if (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599) {
      throw new Error(`fault status must be 4xx or 5xx, got ${spec.status}`);
    }
    const id = this.nextId++;
    this.faults.push({ ...spec, id, remaining: spec.count ?? 1 });
    return id;
  }

  clear(id?: number): void {
    this.faults = id === undefined ? [] : this.faults.filter((f) => f.id !== id);
  }

  pending(): FaultSpec[] {
    return this.faults.map(({ id: _id, remaining, ...spec }) => ({ ...spec, count: remaining }));
  }

  take(target: FaultTarget): FaultSpec | undefined {
    const fault = this.faults.find(
      (f) =>
        (!f.method || f.method.toUpperCase() === target.method) &&
        (!f.pathIncludes || target.path.includes(f.pathIncludes)) &&
        (!f.mailbox || f.mailbox.toLowerCase() === target.mailbox?.toLowerCase()),
    );
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    this.triggered.push({ id: fault.id, status: fault.status, ...target });
    return fault;
  }
}
