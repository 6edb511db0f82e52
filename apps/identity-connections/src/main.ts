import 'reflect-metadata';
import { runStandalone } from '@mailbridge/platform-runtime';
import { identityConnectionsService } from './service';
import { runRotateTokenKeys } from './vault/rotate-token-keys.command';

// `main.js rotate-token-keys` re-encrypts every stored token with the first TOKEN_ENCRYPTION_KEYS key and exits.
if (process.argv[2] === 'rotate-token-keys') {
  void runRotateTokenKeys(process.env).then((code) => process.exit(code));
} else {
  void runStandalone(identityConnectionsService);
}
