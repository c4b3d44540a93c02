import type { NotificationView } from './api';
import { lastOutcome } from './alerts';

const note = (kind: NotificationView['kind'], channel: NotificationView['channel'], at: string, status: NotificationView['status'], attempts: number, error: string | null = null): NotificationView => ({ at, channel, kind, status, attempts, error });

describe(lastOutcome.name, () => {
  it('says nothing before the first notification', () => {
    expect(lastOutcome([])).toBeNull();
  });

  it('says how the latest transition went on each of its channels, not older ones', () => {
    const history = [
      note('firing', 'webhook', '2026-01-01T00:10:00Z', 'failed', 6, 'getaddrinfo ENOTFOUND hooks.invalid'),
      note('firing', 'email', '2026-01-01T00:10:00Z', 'sent', 1),
      note('resolved', 'webhook', '2026-01-01T00:05:00Z', 'sent', 1),
    ];
    expect(lastOutcome(history)).toBe('Last: firing by webhook: failed: getaddrinfo ENOTFOUND hooks.invalid after 6 attempts · by email: sent');
  });

  it('says a delivery is being retried rather than queued', () => {
    expect(lastOutcome([note('flapping', 'webhook', '2026-01-01T00:00:00Z', 'queued', 2, 'ECONNREFUSED')])).toBe('Last: flapping by webhook: retrying (attempt 2 failed: ECONNREFUSED)');
  });
});
