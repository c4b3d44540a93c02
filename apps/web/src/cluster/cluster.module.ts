import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LiveModule } from '../live/live.module';
import { ClusterController, WebNodeDetails } from './cluster.controller';

@Module({
  imports: [AuthModule, LiveModule],
  controllers: [ClusterController],
  providers: [WebNodeDetails],
})
export class WebClusterModule {}
