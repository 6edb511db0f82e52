/** Kept reachable for as long as the test file runs, so their code is not flushed by a GC. */
const compiled: RegExp[] = [];

/**
 * Puts this process in the state of a long-lived one (a jest worker that has run many test files, a service up for
 * days). V8 compiles new regular expressions without optimisation once an isolate has generated over 1 MB of regexp
 * code and holds over 16 MB of executable code. Unoptimised, a `[...]+` loop pushes one backtrack entry per character
 * and overflows V8's 64 MiB backtrack stack on a subject of about 4 Mi characters ("RangeError: Maximum call stack
 * size exceeded"): a 3 MiB file in base64. That is how issue 7's multi-MB sends were answered 500 only in full CI runs.
 */
export function compileRegExpsLikeALongLivedProcess(count = 20_000): void {
  const subject = 'x'.repeat(2000);
  for (let i = 0; i < count; i++) {
    // Each one distinct (no compilation cache hit) and run on a long subject (compiled to native code at once).
    const re = new RegExp(`(a|b|c${i})+[d-z]{2,5}(foo|bar|baz)${i}$`);
    re.test(subject);
    compiled.push(re);
  }
}
