import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { BreakdownsService } from './breakdowns.service';
import { SeriesController } from './series.controller';
import { SeriesService } from './series.service';

@Module({
  imports: [AuthModule, PipelinesModule],
  controllers: [SeriesController],
  providers: [SeriesService, BreakdownsService],
  // The live gateway recomputes followed breakdowns with it.
  exports: [BreakdownsService],
})
export class SeriesModule {}
