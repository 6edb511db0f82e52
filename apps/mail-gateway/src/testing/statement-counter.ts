import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from 'pg';

/** What the gateway sent to PostgreSQL in a counted context, counted like the bench: BEGIN/COMMIT apart. */
export interface StatementCount {
  statements: string[];
  transactions: number;
}

const TX_CONTROL = /^\s*(BEGIN|START TRANSACTION|ROLLBACK)/i;

/**
 * Counts every query this process's pg clients (the gateway's pool among them) send while work started by
 * `count(into, work)` runs: the async context follows the work through the pool. Jest-free; `restore()` undoes it.
 */
export function countStatements(): {
  count<T>(into: StatementCount, work: () => T): T;
  restore(): void;
} {
  const store = new AsyncLocalStorage<StatementCount>();
  const original = Client.prototype.query;
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    const into = store.getStore();
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string })?.text ?? '');
    if (into && /^\s*COMMIT/i.test(text)) into.transactions++;
    else if (into && !TX_CONTROL.test(text)) into.statements.push(text);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof Client.prototype.query;
  return {
    count: (into, work) => store.run(into, work),
    restore: () => {
      Client.prototype.query = original;
    },
  };
}
