/** The platform runs on Node.js 24 (it uses APIs older versions lack, e.g. `tls.setDefaultCACertificates`). */
export const REQUIRED_NODE_MAJOR = 24;

/**
 * Stops with one clear line on another Node.js major, instead of an obscure TypeError later.
 * `npm start` / `npm test` run the Node 24 the project pins (node_modules/.bin/node).
 */
export function assertSupportedNode(program: string, version: string = process.versions.node): void {
  const major = Number(version.split('.')[0]);
  if (major === REQUIRED_NODE_MAJOR) return;
  process.stderr.write(
    `${program}: needs Node.js ${REQUIRED_NODE_MAJOR}, found ${version}. Run it through npm (npm start), which uses the ` +
      `Node ${REQUIRED_NODE_MAJOR} pinned in package.json, or put node_modules/.bin first on PATH.\n`,
  );
  process.exit(1);
}
