import { Global, Module } from '@nestjs/common';
import { ClusterHeartbeat } from './cluster-heartbeat';

@Global()
@Module({ providers: [ClusterHeartbeat], exports: [ClusterHeartbeat] })
export class ClusterModule {}
