import type { IngestEvent, LastPoll } from '@dash/domain';
import { BacklogGate, loadConfig, type BacklogTotals, type PipelinesRepository } from '@dash/infra';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PollService } from './poll.service';

/** A source answering two items, on a local port. */
async function source(): Promise<{ url: string; server: Server }> {
  const server = createServer((_, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ items: [{ id: 'a' }, { id: 'b' }], next: 'c2' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed`, server };
}

/** The pipelines repository as a poll uses it: one poll pipeline with a cursor, and the recorded outcomes. */
class FakePipelines {
  recorded: LastPoll[] = [];
  constructor(private readonly url: string) {}

  findById(id: string) {
    const lastPoll = this.recorded.at(-1) ?? { at: '', status: 'ok', items: 0, error: null, cursor: 'c1' };
    return Promise.resolve({ id, source: { type: 'poll', url: this.url, intervalSeconds: 5, itemsPath: 'items', cursor: { param: 'after', path: 'next' } }, eventIdPath: 'id', eventTimePath: 'timestamp', eventTypePath: 'type', lastPoll });
  }

  recordPoll(_: string, result: LastPoll): Promise<void> {
    this.recorded.push(result);
    return Promise.resolve();
  }
}

describe(PollService.name, () => {
  const config = loadConfig({ OUTBOUND_ALLOW_PRIVATE: 'true', INGEST_MAX_BACKLOG: '100' }, 'ingestor');
  let server: Server;
  let url: string;

  beforeAll(async () => ({ url, server } = await source()));
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const setUp = async (totals: BacklogTotals) => {
    const gate = new BacklogGate(config, { totals: () => Promise.resolve(totals), noteRejection: () => Promise.resolve() });
    await gate.refresh();
    const added: IngestEvent[] = [];
    const pipelines = new FakePipelines(url);
    const service = new PollService(config, pipelines as unknown as PipelinesRepository, { add: (events: IngestEvent[]) => Promise.resolve(void added.push(...events)) }, gate);
    return { service, added, pipelines };
  };

  it('ingests the polled items while the backlog has room, and moves the cursor on', async () => {
    const { service, added } = await setUp({ total: 10, committed: 0, byPipeline: new Map() });
    const result = await service.poll('p1');
    expect(result).toMatchObject({ status: 'ok', items: 2, cursor: 'c2' });
    expect(added.map((event) => event.id)).toEqual(['a', 'b']);
  });

  it('goes through the backlog gate like a webhook: past the limit nothing is ingested, the poll is recorded as refused and the cursor stays', async () => {
    const { service, added, pipelines } = await setUp({ total: 150, committed: 0, byPipeline: new Map([['p1', 150]]) });
    const result = await service.poll('p1');
    expect(added).toEqual([]);
    expect(result).toMatchObject({ status: 'error', items: 0, cursor: 'c1' });
    expect(result?.error).toMatch(/^backlog_full: /);
    expect(pipelines.recorded).toHaveLength(1);
  });
});
