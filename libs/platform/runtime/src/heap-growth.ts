import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it starts the next one:
 * the limit becomes live × (1 + this / 100). V8's own choice follows how cheap its collections have been; for these
 * processes (100 MB live in embedded, a burst promoting each event's short-lived batch objects) it sets the limit a
 * few MB above the live size, so a burst of 2,000 messages ran 12 full collections (7 of them in PGlite's worker,
 * whose heap is 25 MB), each marking the whole heap on V8's helper threads: a quarter of the CPU per message (issue
 * 16, `npm run bench -- --profile`). At 100 they were 3, and the CPU per message fell from 2.2 to 1.9 ms. The cost is
 * memory: a heap may hold up to its live size again in garbage before a full collection (the bench's idle memory is
 * read after one).
 */
export const HEAP_GROWING_PERCENT = 100;

const FLAG = '--heap-growing-percent';

/**
 * Sets V8's heap growing factor for this process and the worker threads it starts later (PGlite's); V8 reads it at
 * every full collection, so setting it at start-up is enough. An explicit `node --heap-growing-percent=N` wins (Node
 * refuses it in NODE_OPTIONS). Answers the flag set, or undefined when left to the operator's.
 */
export function tuneHeapGrowth(
  setFlags: (flags: string) => void = (flags) => v8.setFlagsFromString(flags),
  execArgv: readonly string[] = process.execArgv,
): string | undefined {
  const explicit = execArgv.some(
    (arg) => arg === FLAG || arg.startsWith(`${FLAG}=`) || arg.startsWith('--heap_growing_percent'),
  );
  if (explicit) return undefined;
  const flag = `${FLAG}=${HEAP_GROWING_PERCENT}`;
  setFlags(flag);
  return flag;
}
