// Checks, once per run, that the real infrastructure the integration and e2e tests use is reachable,
// and explains how to get it when it is not. Each test file then creates its own database and its own
// Kafka mock cluster (libs/testing), so files never share state.
const { execFileSync } = require('node:child_process');
const net = require('node:net');

function postgresUrl() {
  return process.env.TEST_DATABASE_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

function reachable(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 5432) });
    socket.setTimeout(3000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

module.exports = async function globalSetup() {
  // Names this run: libs/testing's buildApp builds each app once per run, whatever the number of workers.
  process.env.MAILBRIDGE_TEST_RUN_ID ??= `${Date.now()}-${process.pid}`;
  const problems = [];
  if (!(await reachable(postgresUrl()))) {
    problems.push(
      `PostgreSQL is not reachable at ${postgresUrl()}. Start a local server (trust auth) or set TEST_DATABASE_ADMIN_URL.`,
    );
  }
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' });
  } catch {
    problems.push(
      'kcat is not installed: it provides the Kafka mock cluster. Install it with `apt-get install kcat`.',
    );
  }
  if (problems.length > 0) {
    throw new Error(`Test prerequisites missing:\n  - ${problems.join('\n  - ')}`);
  }
};
