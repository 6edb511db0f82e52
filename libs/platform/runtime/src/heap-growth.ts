import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection before it starts the next one:
 * the limit becomes live × (1 + this / 100), in place of V8's own factor (1.1 to 4, lower the cheaper its collections
 * have been and under memory pressure). In the embedded process (100 MB live, four services and PGlite's worker with
 * 25 MB) V8 kept the limit a few MB above the live size under a burst: 2,000 messages ran 12 full collections, each
 * marking a whole heap on V8's helper threads (which used a fifth of the CPU per message; issue 16, `npm run bench --
 * --profile`). At 100 they were 3 (CPU per message 2.2 → 1.9 ms in that pair of runs; later runs read 1.9–2.2, inside
 * this machine's run-to-run variance, so the CPU gain is not proven while the collections saved are). Embedded only:
 * the standalone services showed no gain (their cost is young-generation collections) and run in pods with memory
 * limits, where V8's own lower factor under pressure is the safer choice. The cost is memory: a heap may hold up to
 * its live size again in garbage before a full collection (the bench reads idle memory after one).
 */
export const HEAP_GROWING_PERCENT = 100;

const FLAG = '--heap-growing-percent';

/**
 * Sets V8's heap growing factor for this process and its worker threads (PGlite's): a process-wide flag V8 reads at
 * every full collection. An explicit `node --heap-growing-percent=N` wins (Node refuses it in NODE_OPTIONS). Answers
 * the flag set, or undefined when left to the operator's.
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
