import fs from 'node:fs';
import path from 'node:path';
import * as contracts from '@mailbridge/contracts';
import { ALL_TOPICS, eventCatalog } from '@mailbridge/contracts';

// Each topic has one producing service: a consumer knows whom it listens to, and a topic's keys and ordering are one
// service's promise. Found from the code itself: every `emit(<event definition>` in an app's production sources.
const root = path.resolve(__dirname, '../..');
const APPS = ['identity-connections', 'mail-gateway', 'sync-engine', 'conversations'];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sources(full);
    return /\.ts$/.test(entry.name) && !/\.(spec|int\.spec|e2e-spec)\.ts$/.test(entry.name) ? [full] : [];
  });
}

const definitions = new Map(
  Object.entries(contracts).filter(([, value]) =>
    eventCatalog.definitions().includes(value as ReturnType<typeof eventCatalog.definitions>[number]),
  ) as Array<[string, ReturnType<typeof eventCatalog.definitions>[number]]>,
);

function producersByTopic(): Map<string, Set<string>> {
  const byTopic = new Map<string, Set<string>>();
  for (const app of APPS) {
    for (const file of sources(path.join(root, 'apps', app, 'src'))) {
      for (const [, name] of fs.readFileSync(file, 'utf8').matchAll(/\bemit\(\s*([A-Za-z0-9_]+)/g)) {
        const def = definitions.get(name);
        if (!def) continue;
        byTopic.set(def.topic, (byTopic.get(def.topic) ?? new Set()).add(app));
      }
    }
  }
  return byTopic;
}

describe('topic producers', () => {
  const byTopic = producersByTopic();

  it('the scan finds the emits (so the next test can fail)', () => {
    expect(byTopic.get(contracts.Topics.mailObserved)).toEqual(new Set(['mail-gateway']));
    expect(byTopic.get(contracts.Topics.syncMessages)).toEqual(new Set(['sync-engine']));
  });

  it('every topic an app produces to has exactly one producing service', () => {
    const shared = [...byTopic]
      .filter(([, apps]) => apps.size > 1)
      .map(([topic, apps]) => `${topic}: ${[...apps]}`);
    expect(shared).toEqual([]);
    for (const topic of byTopic.keys()) expect(ALL_TOPICS).toContain(topic);
  });
});
