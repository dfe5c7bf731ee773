import { Global, Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { RevokedTokenRepository } from '@app/persistence';
import { TokenInfoController } from './token-info.controller';
import { TokensController } from './tokens.controller';

/** Who the caller is, and token revocation; global, since the auth guard reads revocations. */
@Global()
@Module({
  controllers: [TokenInfoController, TokensController],
  providers: [
    {
      provide: RevokedTokenRepository,
      useFactory: (dataSource: DataSource) => new RevokedTokenRepository(dataSource),
      inject: [getDataSourceToken()],
    },
  ],
  exports: [RevokedTokenRepository],
})
export class AuthModule {}
