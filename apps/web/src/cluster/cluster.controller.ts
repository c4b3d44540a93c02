import { Controller, Get, Injectable, UseGuards, type OnModuleInit } from '@nestjs/common';
import { ClusterHeartbeat } from '@dash/infra';
import { AuthGuard, CurrentPrincipal, requireAdmin } from '../auth/auth.guard';
import type { Principal } from '../auth/auth.service';
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
@UseGuards(AuthGuard)
export class ClusterController {
  constructor(private readonly heartbeat: ClusterHeartbeat) {}

  /** Every live web and ingestor node, from their heartbeats in Redis. */
  @Get()
  async nodes(@CurrentPrincipal() principal: Principal) {
    requireAdmin(principal);
    return { nodes: await this.heartbeat.nodes() };
  }
}
