import type { IngestEvent, PipelineStats } from '@dash/domain';
import { DashMetrics, loadConfig } from '@dash/infra';
import type { LivePublisher } from '../live/live-publisher';
import type { EventWriter, WriteOutcome } from '../writer/event-writer';
import { BufferService } from './buffer.service';

const event = (id: string): IngestEvent => ({ pipelineId: '00000000-0000-4000-8000-000000000001', id, type: null, occurredAt: 0, receivedAt: 0, payloadJson: '{}' });
const stats: PipelineStats = { pipelineId: '00000000-0000-4000-8000-000000000001', count: 1, version: 1, lastEvent: null, lastEventAt: null };

describe(BufferService.name, () => {
  it('does not take a failing live update for a database outage: the batch is written once and settles', async () => {
    const writes: number[] = [];
    // Stand-ins handed in by injection (the writer's real database is not the subject here).
    const writer = { write: async (events: readonly IngestEvent[]): Promise<WriteOutcome> => (writes.push(events.length), { stats: [stats], failed: 0, orphaned: 0 }) } as unknown as EventWriter;
    const publisher = {
      publish: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    } as unknown as LivePublisher;
    const service = new BufferService(loadConfig({ BUFFER_PARTITIONS: '1' }, 'ingestor'), writer, publisher, new DashMetrics('ingestor', 'test-node'));
    // Before: the publish error was caught by the retry loop as "database unavailable", the batch
    // written again and again, the flush never settled and the node reported itself degraded.
    await expect(service.add([event('a')])).resolves.toBeUndefined();
    expect(writes).toEqual([1]);
    expect(service.degraded).toBe(false);
  });
});
