import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConnectionTokenEntity } from './connection-token.entity';
import { TokenRevocationEntity } from './token-revocation.entity';
import { TokenVault } from './token-vault';
import { TokenVaultRepository } from './token-vault.repository';

@Module({
  imports: [TypeOrmModule.forFeature([ConnectionTokenEntity, TokenRevocationEntity])],
  providers: [TokenVault, TokenVaultRepository],
  exports: [TokenVault, TokenVaultRepository],
})
export class VaultModule {}
