#!/usr/bin/env node
// Operator tool shipped in every image as bin/dlq-admin.cjs: lists and replays the dead letters of a topic with the
// service's own build of the Kafka bus (KafkaEventBus implements DeadLetterAdmin) and its KAFKA_* environment.
//
//   node bin/dlq-admin.cjs list <topic> [--limit 100]
//   node bin/dlq-admin.cjs replay <topic> --position <partition>:<offset> [--position ...]
//   node bin/dlq-admin.cjs replay <topic> --all
//
// <topic> is the original topic (its letters are read from <topic>.dlq). A replay publishes the letters to <topic>
// exactly as received, with the header x-dlq-replayed-from; it never removes them, so replaying twice delivers twice
// (consumers deduplicate by event id). docs/deploy.md: replaying a dead-letter topic.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function usage(message) {
  if (message) process.stderr.write(`dlq-admin: ${message}\n`);
  process.stderr.write(
    'usage: dlq-admin list <topic> [--limit N] | replay <topic> (--all | --position <partition>:<offset> ...)\n',
  );
  process.exit(2);
}

/** The libs compiled into this image's app build (dist/<apps|libs>/<project>/libs/...). */
function libsDir() {
  const dist = path.join(__dirname, '..', 'dist');
  for (const kind of ['apps', 'libs']) {
    const dir = path.join(dist, kind);
    if (!fs.existsSync(dir)) continue;
    for (const project of fs.readdirSync(dir)) {
      const libs = path.join(dir, project, 'libs');
      if (fs.existsSync(path.join(libs, 'platform', 'messaging', 'src', 'index.js'))) return libs;
    }
  }
  throw new Error(`no built platform-messaging lib under ${dist}`);
}

function parseArgs(argv) {
  const [command, topic, ...rest] = argv;
  if (!['list', 'replay'].includes(command)) usage(command ? `unknown command "${command}"` : undefined);
  if (!topic || topic.startsWith('--')) usage('name the topic');
  if (topic.endsWith('.dlq')) usage('name the original topic, not its .dlq');
  const options = { command, topic, limit: 1000, all: false, positions: new Set() };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (flag === '--all') options.all = true;
    else if (flag === '--limit') options.limit = Number(rest[++i]);
    else if (flag === '--position') {
      const position = rest[++i];
      if (!/^\d+:\d+$/.test(position ?? '')) usage('--position is <partition>:<offset>, as `list` prints it');
      options.positions.add(position);
    } else usage(`unknown option "${flag}"`);
  }
  if (!Number.isInteger(options.limit) || options.limit < 1) usage('--limit must be a positive integer');
  if (command === 'replay' && !options.all && options.positions.size === 0)
    usage('say what to replay: --all, or --position for each letter');
  return options;
}

function summary(letter) {
  let event = {};
  try {
    const parsed = JSON.parse(letter.value);
    event = { id: parsed.id, type: parsed.type, version: parsed.version };
  } catch {
    event = { unparsable: true };
  }
  const h = letter.headers;
  return {
    position: letter.position,
    failedAt: h['x-dlq-failed-at'],
    group: h['x-dlq-group'],
    errorCode: h['x-dlq-error-code'],
    reason: h['x-dlq-reason'],
    attempts: h['x-dlq-attempts'],
    key: letter.key,
    ...event,
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const brokers = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) usage('KAFKA_BROKERS is not set');
  const libs = libsDir();
  const { KafkaEventBus } = require(path.join(libs, 'platform', 'messaging', 'src'));
  const { eventCatalog } = require(path.join(libs, 'contracts', 'src'));
  const { createLogger } = require(path.join(libs, 'platform', 'observability', 'src'));
  const bus = new KafkaEventBus({
    brokers,
    clientId: `${process.env.KAFKA_CLIENT_ID || 'mailbridge'}-dlq-admin`,
    catalog: eventCatalog,
    logger: createLogger({
      service: 'dlq-admin',
      level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'warn',
    }),
    idempotent: !['false', '0'].includes(process.env.KAFKA_IDEMPOTENT_PRODUCER ?? ''),
  });
  try {
    if (options.command === 'list') {
      const letters = await bus.listDeadLetters(options.topic, { limit: options.limit });
      for (const letter of letters) process.stdout.write(`${JSON.stringify(summary(letter))}\n`);
      process.stderr.write(`${letters.length} dead letter(s) in ${options.topic}.dlq\n`);
    } else {
      const replayed = await bus.replayDeadLetters(
        options.topic,
        (letter) => options.all || options.positions.has(letter.position),
      );
      const missing = [...options.positions].filter((p) => !replayed.some((l) => l.position === p));
      for (const letter of replayed) process.stdout.write(`${JSON.stringify(summary(letter))}\n`);
      process.stderr.write(`replayed ${replayed.length} dead letter(s) to ${options.topic}\n`);
      if (missing.length > 0) {
        process.stderr.write(`not found in ${options.topic}.dlq: ${missing.join(', ')}\n`);
        process.exitCode = 1;
      }
    }
  } finally {
    await bus.close();
  }
}

main().catch((error) => {
  process.stderr.write(`dlq-admin: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
