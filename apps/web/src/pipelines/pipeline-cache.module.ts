import { Module } from '@nestjs/common';
import { PipelineCache } from './pipeline-cache';

/**
 * The one PipelineCache of this node, on its own so that AuthModule's AccessGuard can resolve
 * pipelines without importing PipelinesModule (which imports AuthModule).
 */
@Module({ providers: [PipelineCache], exports: [PipelineCache] })
export class PipelineCacheModule {}
