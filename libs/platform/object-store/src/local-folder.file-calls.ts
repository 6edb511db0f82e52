// The file-system calls of the local folder store that need more than one line: EEXIST/ENOENT handling, fdatasync.
import { fdatasync, mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { ObjectNotFoundError } from './object-store.port';

/** Makes a fan-out directory: one mkdir when its parent exists (EEXIST is fine: another put or process made it). */
export async function mkdirLeaf(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return;
    if (errorCode(error) !== 'ENOENT') throw error;
    await mkdir(path, { recursive: true });
  }
}

/** fdatasync(2) on the thread pool (the callback API: no FileHandle or promise per call beyond this one). */
export function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

/** `mkdirLeaf` with a synchronous call (the small-object path, see SYNC_WRITE_BYTES). */
export function mkdirLeafSync(path: string): void {
  try {
    mkdirSync(path);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return;
    if (errorCode(error) !== 'ENOENT') throw error;
    mkdirSync(path, { recursive: true });
  }
}

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

export function isNotFound(error: unknown): boolean {
  return errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR';
}

export function notFoundOr(error: unknown, key: string): unknown {
  return isNotFound(error) ? new ObjectNotFoundError(key) : error;
}
