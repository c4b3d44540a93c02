import { Controller, Get, Injectable, type OnModuleInit } from '@nestjs/common';
import { ClusterHeartbeat } from '@dash/infra';
import { AdminOnly, Authenticated } from '../auth/access';
import { LiveGateway } from '../live/live.gateway';

/** Adds this web node's socket count to its heartbeat. */
@Injectable()
export class WebNodeDetails implements OnModuleInit {
  constructor(
    private readonly heartbeat: ClusterHeartbeat,
    private readonly gateway: LiveGateway,
  ) {}

  onModuleInit(): void {
    this.heartbeat.describe(() => ({ sockets: this.gateway.socketCount }));
  }
}

@Controller('api/cluster')
@Authenticated()
@AdminOnly()
export class ClusterController {
  constructor(private readonly heartbeat: ClusterHeartbeat) {}

  /** Every live web and ingestor node, from their heartbeats in Redis. */
  @Get()
  async nodes() {
    return { nodes: await this.heartbeat.nodes() };
  }
}
