import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { TokenRevocationsController, TokensController } from './tokens.controller';
import { TokensService } from './tokens.service';

@Module({
  imports: [AuthModule, PipelinesModule],
  controllers: [TokensController, TokenRevocationsController],
  providers: [TokensService],
})
export class TokensModule {}
