import { Injectable } from '@nestjs/common';
import type { ProviderName } from '@mailbridge/contracts';
import { GoogleOAuthClient } from './google-oauth.client';
import { MicrosoftOAuthClient } from './microsoft-oauth.client';
import type { OAuthProviderClient } from './oauth-provider';

/** The OAuth client of each provider. */
@Injectable()
export class OAuthProviders {
  private readonly byName: Record<ProviderName, OAuthProviderClient>;

  constructor(google: GoogleOAuthClient, microsoft: MicrosoftOAuthClient) {
    this.byName = { google, microsoft };
  }

  get(provider: ProviderName): OAuthProviderClient {
    return this.byName[provider];
  }
}
