import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { RejectionLog } from './rejection-log';
import { RejectionsController } from './rejections.controller';

@Module({
  imports: [AuthModule, PipelinesModule],
  controllers: [RejectionsController],
  providers: [RejectionLog],
})
export class RejectionsModule {}
