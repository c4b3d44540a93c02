import { describeCondition, describeDelivery, FLAPPING_EXPLAINED } from './alerts';

describe(describeCondition.name, () => {
  it.each([
    [{ type: 'silence', seconds: 300 } as const, 'no event stored for 300 s'],
    [{ type: 'rate_above', perMinute: 50, seconds: 60 } as const, 'more than 50 events a minute over 60 s'],
    [{ type: 'rate_below', perMinute: 1.5, seconds: 600 } as const, 'fewer than 1.5 events a minute over 600 s'],
    [{ type: 'failures' } as const, 'an event could not be stored'],
    [{ type: 'backlog_full', seconds: 120 } as const, 'webhooks were refused with 429 (backlog full)'],
  ])('says %j as "%s"', (condition, text) => {
    expect(describeCondition(condition)).toBe(text);
  });
});

describe(describeDelivery.name, () => {
  it('says a delivery not tried yet is queued, and one that went out is sent (with its attempts when retried)', () => {
    expect(describeDelivery({ status: 'queued', attempts: 0, error: null })).toBe('queued');
    expect(describeDelivery({ status: 'sent', attempts: 1, error: null })).toBe('sent');
    expect(describeDelivery({ status: 'sent', attempts: 3, error: null })).toBe('sent after 3 attempts');
  });

  it('says a delivery being retried is retrying, with the last error', () => {
    expect(describeDelivery({ status: 'queued', attempts: 2, error: 'getaddrinfo ENOTFOUND hooks.invalid' })).toBe('retrying (attempt 2 failed: getaddrinfo ENOTFOUND hooks.invalid)');
  });

  it('says a delivery given up failed, with the error and the attempts made', () => {
    expect(describeDelivery({ status: 'failed', attempts: 6, error: 'getaddrinfo ENOTFOUND hooks.invalid' })).toBe('failed: getaddrinfo ENOTFOUND hooks.invalid after 6 attempts');
  });
});

it('explains flapping with the contract\'s numbers', () => {
  expect(FLAPPING_EXPLAINED).toContain('more than 3 times in 10 minutes');
  expect(FLAPPING_EXPLAINED).toContain('steady for 10 minutes');
});
