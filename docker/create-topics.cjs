#!/usr/bin/env node
// Operator tool shipped in every image as bin/create-topics.cjs, run by the chart's topic Job (topics.job.enabled) on
// clusters without Strimzi: creates the platform's missing topics and their .dlq twins with the Kafka admin API, with
// the image's own build of the messaging lib and its KAFKA_* environment. Existing topics are left as they are.
//
//   TOPICS_JSON='[{"name":"mail.send.v1","partitions":12,"replicationFactor":3,"config":{"retention.ms":"604800000"}}, ...]' \
//   KAFKA_BROKERS=kafka:9092 node bin/create-topics.cjs
//
// TOPICS_JSON (rendered by the chart from topics.*) must name exactly the topics of the contracts lib and their .dlq
// twins: a topic the platform does not know, or one it needs and the list lacks, stops the Job before it creates anything.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function fail(message, code = 2) {
  process.stderr.write(`create-topics: ${message}\n`);
  process.exit(code);
}

/** The libs compiled into this image's app build (dist/<apps|libs>/<project>/libs/...), or the workspace's sources. */
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

/** Checks the list against the platform's topics; returns the specs or exits naming what is wrong. */
function checkedSpecs(raw, platformTopics) {
  let specs;
  try {
    specs = JSON.parse(raw ?? '');
  } catch {
    fail('TOPICS_JSON is not set or not JSON');
  }
  if (!Array.isArray(specs) || specs.length === 0) fail('TOPICS_JSON must be a non-empty list');
  for (const s of specs) {
    const ok =
      s &&
      typeof s.name === 'string' &&
      Number.isInteger(s.partitions) &&
      s.partitions > 0 &&
      Number.isInteger(s.replicationFactor) &&
      s.replicationFactor > 0 &&
      s.config &&
      typeof s.config === 'object' &&
      Object.values(s.config).every((v) => typeof v === 'string');
    if (!ok)
      fail(`invalid topic entry ${JSON.stringify(s)}: name, partitions, replicationFactor, config (strings)`);
  }
  const names = specs.map((s) => s.name);
  const unknown = names.filter((n) => !platformTopics.includes(n));
  const missing = platformTopics.filter((t) => !names.includes(t));
  if (unknown.length) fail(`not topics of the platform: ${unknown.join(', ')}`);
  if (missing.length) fail(`topics of the platform missing from TOPICS_JSON: ${missing.join(', ')}`);
  if (new Set(names).size !== names.length) fail('a topic is listed twice');
  return specs;
}

async function main() {
  const brokers = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) fail('KAFKA_BROKERS is not set');
  const libs = process.env.MAILBRIDGE_LIBS_DIR || libsDir();
  const { ALL_TOPICS_WITH_DLQ } = require(path.join(libs, 'contracts', 'src'));
  const specs = checkedSpecs(process.env.TOPICS_JSON, ALL_TOPICS_WITH_DLQ);
  if (process.argv.includes('--check')) {
    process.stdout.write(`${specs.length} topics checked\n`);
    return;
  }
  const { createMissingTopics, kafkaTopicAdmin } = require(path.join(libs, 'platform', 'messaging', 'src'));
  const mechanism = process.env.KAFKA_SASL_MECHANISM;
  const admin = kafkaTopicAdmin({
    brokers,
    clientId: `${process.env.KAFKA_CLIENT_ID || 'mailbridge'}-create-topics`,
    ssl: ['true', '1'].includes(process.env.KAFKA_SSL ?? '') || undefined,
    sasl: mechanism
      ? { mechanism, username: process.env.KAFKA_SASL_USERNAME, password: process.env.KAFKA_SASL_PASSWORD }
      : undefined,
  });
  try {
    const { created, existing } = await createMissingTopics(admin, specs);
    process.stdout.write(
      `${JSON.stringify({ msg: 'topics ensured', created, existing: existing.length })}\n`,
    );
  } finally {
    await admin.close();
  }
}

main().catch((error) => fail(error instanceof Error ? error.message : String(error), 1));
