// V8 flags of every platform process, in one place: the soak and the bench start node with them, and a spec
// (tools/deploy/dockerfile.spec.ts) holds the images' NODE_OPTIONS and `npm start` to the same.

/**
 * A young generation of up to 32 MiB per semi-space (V8's default depends on the memory limit: 16 MiB on a large
 * host, 1 MiB under a 512 MiB limit). A batch in flight (records read ahead, their envelopes and rows) then dies young
 * instead of being promoted and marked again by the major collector (issue 16; docs/deploy.md, "Memory and garbage
 * collection").
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
