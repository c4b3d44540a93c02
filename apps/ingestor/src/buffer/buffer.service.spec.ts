import type { IngestEvent, PipelineStats } from '@dash/domain';
import { DashMetrics, loadConfig } from '@dash/infra';
import type { WriteOutcome } from '../writer/event-writer';
import { BufferService } from './buffer.service';

const event = (id: string): IngestEvent => ({ pipelineId: '00000000-0000-4000-8000-000000000001', id, type: null, occurredAt: 0, receivedAt: 0, payloadJson: '{}' });
const stats: PipelineStats = { pipelineId: '00000000-0000-4000-8000-000000000001', count: 1, version: 1, lastEvent: null, lastEventAt: null };

describe(BufferService.name, () => {
  it('does not take a failing live update for a database outage: the batch is written once and settles', async () => {
    const writes: number[] = [];
    // Stand-ins handed in by injection (the writer's real database is not the subject here).
    const writer = { write: async (events: readonly IngestEvent[]): Promise<WriteOutcome> => (writes.push(events.length), { stats: [stats], failed: 0, failedPipelines: [], orphaned: 0 }) };
    const publisher = {
      publish: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    };
    const service = new BufferService(loadConfig({ BUFFER_PARTITIONS: '1' }, 'ingestor'), writer, publisher, new DashMetrics('ingestor', 'test-node'));
    // Before: the publish error was caught by the retry loop as "database unavailable", the batch
    // written again and again, the flush never settled and the node reported itself degraded.
    await expect(service.add([event('a')])).resolves.toBeUndefined();
    expect(writes).toEqual([1]);
    expect(service.degraded).toBe(false);
  });

  describe('while the database is unreachable', () => {
    const unreachable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const make = (write: (events: readonly IngestEvent[]) => Promise<WriteOutcome>) => {
      const published: PipelineStats[][] = [];
      const service = new BufferService(loadConfig({ BUFFER_PARTITIONS: '1', BUFFER_MAX_WAIT_MS: '1' }, 'ingestor'), { write }, { publish: (batch) => void published.push([...batch]) }, new DashMetrics('ingestor', 'test-node'));
      return { service, published };
    };

    it('retries the batch, reports itself degraded meanwhile, and settles once the database is back', async () => {
      const degradedAtAttempt: boolean[] = [];
      let attempts = 0;
      const { service, published } = make(async () => {
        attempts += 1;
        degradedAtAttempt.push(service.degraded);
        if (attempts === 1) throw unreachable();
        return { stats: [stats], failed: 0, failedPipelines: [], orphaned: 0 };
      });
      await expect(service.add([event('a')])).resolves.toBeUndefined();
      expect(attempts).toBe(2);
      // Not degraded before the first failure; degraded while waiting to retry; clear once committed.
      expect(degradedAtAttempt).toEqual([false, true]);
      expect(service.degraded).toBe(false);
      expect(service.held).toBe(0);
      expect(published).toEqual([[stats]]);
    });

    it('does not retry a batch the database refuses for its data: the add fails at once', async () => {
      let attempts = 0;
      const { service, published } = make(async () => {
        attempts += 1;
        throw Object.assign(new Error('invalid input syntax for type json'), { code: '22P02' });
      });
      await expect(service.add([event('a')])).rejects.toMatchObject({ code: '22P02' });
      expect(attempts).toBe(1);
      expect(service.degraded).toBe(false);
      expect(published).toEqual([]);
    });

    it('stops waiting once stopped (shutdown): the add fails, so its job goes back to the queue', async () => {
      let attempts = 0;
      const { service } = make(async () => {
        attempts += 1;
        service.stop();
        throw unreachable();
      });
      await expect(service.add([event('a')])).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(attempts).toBe(1);
      expect(service.degraded).toBe(false);
      expect(service.held).toBe(0);
    });
  });
});
