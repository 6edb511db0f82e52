import { Module } from '@nestjs/common';

/** Connections, OAuth flows and the token vault (issue: identity-connections). */
@Module({})
export class IdentityConnectionsModule {}
