import { EventEmitter } from 'node:events';
import { pipelineRoom, SocketEvent, type PipelineStats } from '@dash/domain';
import type { AuthService } from '../auth/auth.service';
import type { RequestLimits } from '../auth/request-limits';
import type { PipelineCache } from '../pipelines/pipeline-cache';
import type { StatsService } from '../reading/stats.service';
import type { BreakdownFollowers } from './breakdown-followers';
import { LiveGateway } from './live.gateway';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

/** A gateway over hand-written fakes: the socket.io server's rooms and local emits, the stats reader, the subscriber connection. */
function setup(rooms: string[], failing: string[] = []) {
  const subscriber = new EventEmitter();
  const emitted: Array<{ room: string; event: string; stats: PipelineStats }> = [];
  const reads: string[] = [];
  const reader = {
    stats: async (pipelineId: string): Promise<PipelineStats> => {
      reads.push(pipelineId);
      if (failing.includes(pipelineId)) throw new Error('database away');
      return { pipelineId, count: 7, version: 7, lastEventAt: null, lastEvent: null };
    },
  };
  const auth = { onRevoked: () => () => undefined } as unknown as AuthService;
  // No breakdown is followed here: the followers only need to be attachable.
  const followers = { attach: () => undefined, stored: () => undefined } as unknown as BreakdownFollowers;
  const gateway = new LiveGateway(auth, {} as RequestLimits, {} as PipelineCache, reader as unknown as StatsService, followers, subscriber);
  const server = {
    use: () => undefined,
    of: () => ({ adapter: { rooms: new Map(rooms.map((room) => [room, new Set(['socket'])])) } }),
    local: { to: (room: string) => ({ emit: (event: string, stats: PipelineStats) => emitted.push({ room, event, stats }) }) },
  };
  gateway.server = server as unknown as LiveGateway['server'];
  gateway.afterInit(gateway.server);
  return { gateway, subscriber, emitted, reads };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('LiveGateway resync', () => {
  it('sends each pipeline room with sockets here its current state when the subscriptions come back (one Redis: ready; a cluster: subscribersReady)', async () => {
    // A socket's own room (its id) is not a pipeline's.
    const { gateway, subscriber, emitted, reads } = setup([pipelineRoom(A), 'Zx3k2socketid000000a', pipelineRoom(B)]);
    subscriber.emit('ready');
    await settle();
    expect(reads.sort()).toEqual([A, B]);
    expect(emitted.map((e) => [e.room, e.event, e.stats.count]).sort()).toEqual([
      [pipelineRoom(A), SocketEvent.DataUpdated, 7],
      [pipelineRoom(B), SocketEvent.DataUpdated, 7],
    ]);
    emitted.length = 0;
    subscriber.emit('subscribersReady');
    await settle();
    expect(emitted).toHaveLength(2);
    gateway.onApplicationShutdown();
    emitted.length = 0;
    subscriber.emit('ready');
    await settle();
    expect(emitted).toEqual([]);
  });

  it('goes on with the other rooms when one read fails, and never throws', async () => {
    const { gateway, subscriber, emitted } = setup([pipelineRoom(A), pipelineRoom(B)], [A]);
    subscriber.emit('ready');
    await settle();
    expect(emitted.map((e) => e.room)).toEqual([pipelineRoom(B)]);
    gateway.onApplicationShutdown();
  });
});
