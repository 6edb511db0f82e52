// Child process of the crash test: puts a slow stream into a LocalFolderObjectStore and is killed (-9) mid-write.
import { Readable } from 'node:stream';
import { LocalFolderObjectStore } from '../local-folder.object-store';

const [dir, chunkCount] = process.argv.slice(2);

async function* slow(): AsyncGenerator<Buffer> {
  for (let i = 0; i < Number(chunkCount); i++) {
    yield Buffer.alloc(256 * 1024, i % 251);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void new LocalFolderObjectStore(dir)
  .put(Readable.from(slow()), { contentType: 'message/rfc822' })
  .then(() => {
    process.stdout.write('done\n');
  });
