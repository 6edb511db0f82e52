import { Module } from '@nestjs/common';
import { GoogleOAuthClient } from './google-oauth.client';
import { MicrosoftOAuthClient } from './microsoft-oauth.client';
import { OAuthProviders } from './oauth-providers';

@Module({
  providers: [GoogleOAuthClient, MicrosoftOAuthClient, OAuthProviders],
  exports: [OAuthProviders],
})
export class OAuthClientsModule {}
