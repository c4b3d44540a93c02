import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { KeyedThrottle, LIST_NOTICE_INTERVAL_MS, pipelineRoom, SocketEvent } from '@dash/domain';
import { LiveGateway } from './live.gateway';

/**
 * Tells the pages following a pipeline that one of its lists changed, so they read it again:
 * `rejections_updated` (a delivery was refused) and `failures_updated` (a failure discarded).
 * Emitted through the socket.io server, so the Redis adapter carries it to every web node; at
 * most once a second per pipeline and list, so a flood of refusals stays one message a second.
 */
@Injectable()
export class PipelineNotices implements OnApplicationShutdown {
  private readonly rejections = new KeyedThrottle(LIST_NOTICE_INTERVAL_MS, (pipelineId) => this.emit(SocketEvent.RejectionsUpdated, pipelineId));
  private readonly failures = new KeyedThrottle(LIST_NOTICE_INTERVAL_MS, (pipelineId) => this.emit(SocketEvent.FailuresUpdated, pipelineId));

  constructor(private readonly live: LiveGateway) {}

  rejectionsChanged(pipelineId: string): void {
    this.rejections.offer(pipelineId);
  }

  failuresChanged(pipelineId: string): void {
    this.failures.offer(pipelineId);
  }

  onApplicationShutdown(): void {
    this.rejections.close();
    this.failures.close();
  }

  private emit(event: typeof SocketEvent.RejectionsUpdated | typeof SocketEvent.FailuresUpdated, pipelineId: string): void {
    // Before the gateway is up there is no page to tell; a notice is a hint, never worth a throw.
    try {
      this.live.server?.to(pipelineRoom(pipelineId)).emit(event, { pipelineId });
    } catch {
      // the page's Refresh still reads the list
    }
  }
}
