import { Inject, Injectable } from '@nestjs/common';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import { Sealed, TokenCipher } from './token-cipher';
import {
  VaultContents,
  connectionContext,
  deserializeContents,
  oauthStateContext,
  serializeContents,
} from './vault-contents';

/** Encrypts and decrypts what the vault stores; the keys come from TOKEN_ENCRYPTION_KEYS. */
@Injectable()
export class TokenVault {
  readonly cipher: TokenCipher;

  constructor(@Inject(IDENTITY_CONFIG) config: IdentityConnectionsConfig) {
    this.cipher = new TokenCipher(config.TOKEN_ENCRYPTION_KEYS);
  }

  sealConnection(connectionId: string, contents: VaultContents): Sealed {
    return this.cipher.encrypt(serializeContents(contents), connectionContext(connectionId));
  }

  openConnection(connectionId: string, secretEnc: string): VaultContents {
    return deserializeContents(this.cipher.decrypt(secretEnc, connectionContext(connectionId)));
  }

  sealVerifier(stateId: string, verifier: string): Sealed {
    return this.cipher.encrypt(verifier, oauthStateContext(stateId));
  }

  openVerifier(stateId: string, sealed: string): string {
    return this.cipher.decrypt(sealed, oauthStateContext(stateId));
  }
}
