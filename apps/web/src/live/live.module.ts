import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { ReadingModule } from '../reading/reading.module';
import { SeriesModule } from '../series/series.module';
import { BreakdownFollowers } from './breakdown-followers';
import { LiveGateway } from './live.gateway';
import { PipelineNotices } from './pipeline-notices';

@Module({
  imports: [AuthModule, PipelinesModule, ReadingModule, SeriesModule],
  providers: [LiveGateway, PipelineNotices, BreakdownFollowers],
  exports: [LiveGateway, PipelineNotices],
})
export class LiveModule {}
