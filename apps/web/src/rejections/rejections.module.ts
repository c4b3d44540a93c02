import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LiveModule } from '../live/live.module';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { RejectionLog } from './rejection-log';
import { RejectionsController } from './rejections.controller';

@Module({
  imports: [AuthModule, PipelinesModule, LiveModule],
  controllers: [RejectionsController],
  providers: [RejectionLog],
})
export class RejectionsModule {}
