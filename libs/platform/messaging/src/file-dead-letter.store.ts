import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { ListedDeadLetter } from './dead-letter-admin';
import type { DeadLetterStore } from './in-process.event-bus';

/**
 * The in-process bus's dead letters in one append-only JSON-lines file (the embedded data dir): a letter is written
 * and flushed before the bus counts its event as handled, and the next start lists (and can replay) it.
 */
export class FileDeadLetterStore implements DeadLetterStore {
  // A process killed mid-append leaves a torn last line: the next append starts on a fresh line.
  private startOnNewLine = false;

  constructor(private readonly file: string) {}

  load(): ListedDeadLetter[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    this.startOnNewLine = text.length > 0 && !text.endsWith('\n');
    const letters: ListedDeadLetter[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        letters.push(JSON.parse(line) as ListedDeadLetter);
      } catch {
        // the torn line of a killed append: its event was not counted as handled, so it comes back
      }
    }
    return letters;
  }

  async append(letter: ListedDeadLetter): Promise<void> {
    const file = await fsp.open(this.file, 'a');
    try {
      await file.appendFile(`${this.startOnNewLine ? '\n' : ''}${JSON.stringify(letter)}\n`);
      await file.datasync();
      this.startOnNewLine = false;
    } finally {
      await file.close();
    }
  }
}
