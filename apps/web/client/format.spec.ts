import { formatTime } from './format';

describe('formatTime', () => {
  const at = '2026-03-04T05:06:07.000Z';
  const parts = (text: string) => text.replace(/\s/g, ' ');

  it('writes a time with its date, today or not, the same for an ISO string, a number and a Date', () => {
    const expected = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(at));
    expect(formatTime(at)).toBe(expected);
    expect(formatTime(Date.parse(at))).toBe(expected);
    expect(formatTime(new Date(at))).toBe(expected);
    // The date is there (the old list format left it out for today's times).
    expect(parts(formatTime(new Date().toISOString()))).toMatch(new RegExp(new Intl.DateTimeFormat(undefined, { month: 'short' }).format(new Date())));
  });

  it('writes the chart\'s buckets to the minute, with the same date', () => {
    const minute = formatTime(at, 'minute');
    expect(minute).toBe(new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(at)));
    expect(formatTime(at).startsWith(minute.slice(0, minute.indexOf(',')))).toBe(true);
  });
});
