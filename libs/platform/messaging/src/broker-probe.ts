/**
 * Whether the brokers answer, asked for real every `intervalMs` (a metadata request with a short timeout) and cached:
 * readiness reads the cache, so a probe of Kubernetes never waits on a broker and never reports a stale "connected"
 * flag. Not ready from the first failed probe until the next one that succeeds, so both directions show within
 * `intervalMs + timeoutMs`.
 */
export class BrokerProbe {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private last?: { readonly ok: boolean; readonly detail: string; readonly at: number };

  constructor(
    private readonly ask: () => Promise<unknown>,
    private readonly options: { readonly intervalMs?: number; readonly timeoutMs?: number } = {},
  ) {}

  /** The latest answer; the first call waits for a first probe. */
  async status(): Promise<{ ok: boolean; detail: string }> {
    this.start();
    if (!this.last) await this.probe();
    return this.last ?? { ok: false, detail: 'brokers not probed yet' };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs ?? 3_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private probe(): Promise<void> {
    this.running ??= (async () => {
      const timeoutMs = this.options.timeoutMs ?? 3_000;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.ask(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        this.last = { ok: true, detail: 'brokers answer', at: Date.now() };
      } catch (error) {
        this.last = { ok: false, detail: `brokers unreachable: ${(error as Error).message}`, at: Date.now() };
      } finally {
        clearTimeout(timer);
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
