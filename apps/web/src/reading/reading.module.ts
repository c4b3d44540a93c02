import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { ReadingController } from './reading.controller';
import { FieldsService } from './fields.service';
import { StatsService } from './stats.service';

@Module({
  imports: [AuthModule, PipelinesModule],
  controllers: [ReadingController],
  providers: [StatsService, FieldsService],
  exports: [StatsService],
})
export class ReadingModule {}
