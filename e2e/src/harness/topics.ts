import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { EventEnvelope } from '@mailbridge/contracts';
import type { Platform } from './platform.harness';

const run = promisify(execFile);

/**
 * Every event on a Kafka topic of the platform, from the beginning, read with `kcat` as an outside consumer would
 * (the value is the JSON envelope). An empty or not yet created topic reads as [].
 */
export async function topicEvents(platform: Platform, topic: string): Promise<EventEnvelope[]> {
  try {
    const { stdout } = await run(
      'kcat',
      [
        '-C',
        '-b',
        platform.kafkaBrokers.join(','),
        '-t',
        topic,
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%s\\n',
      ],
      { timeout: 20_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout
      .split('\n')
      .filter((line) => line.trim().startsWith('{'))
      .map((line) => JSON.parse(line) as EventEnvelope);
  } catch (error) {
    if (/Unknown topic|UNKNOWN_TOPIC/i.test(String((error as { stderr?: string }).stderr ?? error)))
      return [];
    throw error;
  }
}
