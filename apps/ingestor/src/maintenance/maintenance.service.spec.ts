import type { DashConfig, DedupRepository, DimensionsRepository, StorageRepository } from '@dash/infra';
import { CLOSE_ROLLUPS_EVERY_MS, MaintenanceService } from './maintenance.service';

/** A hand-written DimensionsRepository: counts the closes; each waits for `hold` when set. */
class FakeDimensions {
  closes = 0;
  trims = 0;
  hold: Promise<void> | null = null;
  async trimAdmittedValues(): Promise<void> {
    this.trims += 1;
  }
  async compactRollups(): Promise<number> {
    this.closes += 1;
    await this.hold;
    return 0;
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function setup() {
  const dimensions = new FakeDimensions();
  const storage = { usesPolicyJobs: false, ensurePartitions: async () => 0, dropOldPartitions: async () => 0 } as unknown as StorageRepository;
  const dedup = { trimOlderThan: async () => undefined } as unknown as DedupRepository;
  const config = { retention: { eventDays: 0, compressAfterDays: 0 } } as unknown as DashConfig;
  const service = new MaintenanceService(storage, dedup, config, dimensions as unknown as DimensionsRepository);
  return { service, dimensions };
}

describe(MaintenanceService.name, () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it(`closes the rollups' ended blocks at start and every ${CLOSE_ROLLUPS_EVERY_MS / 60_000} minutes, one close at a time`, async () => {
    const { service, dimensions } = setup();
    service.onApplicationBootstrap();
    await settle();
    expect([dimensions.trims, dimensions.closes]).toEqual([1, 1]);
    jest.advanceTimersByTime(CLOSE_ROLLUPS_EVERY_MS);
    await settle();
    expect(dimensions.closes).toBe(2);
    // A close that takes long: the next tick finds it running and starts none beside it.
    let release!: () => void;
    dimensions.hold = new Promise((resolve) => (release = resolve));
    jest.advanceTimersByTime(CLOSE_ROLLUPS_EVERY_MS);
    await settle();
    expect(dimensions.closes).toBe(3);
    jest.advanceTimersByTime(CLOSE_ROLLUPS_EVERY_MS);
    await settle();
    expect(dimensions.closes).toBe(3);
    release();
    await settle();
    jest.advanceTimersByTime(CLOSE_ROLLUPS_EVERY_MS);
    await settle();
    expect(dimensions.closes).toBe(4);
    service.onApplicationShutdown();
    jest.advanceTimersByTime(10 * CLOSE_ROLLUPS_EVERY_MS);
    await settle();
    expect(dimensions.closes).toBe(4);
    // The rest of the upkeep stayed hourly: only the start's run trimmed.
    expect(dimensions.trims).toBe(1);
  });
});
