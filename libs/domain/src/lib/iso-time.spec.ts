import { parseIsoTime } from './iso-time';

describe(parseIsoTime.name, () => {
  it('reads dates and date-times, with or without seconds, fraction and offset (none means UTC)', () => {
    expect(parseIsoTime('2026-02-28')).toBe(Date.UTC(2026, 1, 28));
    expect(parseIsoTime('2026-02-28T10:20')).toBe(Date.UTC(2026, 1, 28, 10, 20));
    expect(parseIsoTime('2026-02-28T10:20:30.123456Z')).toBe(Date.UTC(2026, 1, 28, 10, 20, 30, 123));
    expect(parseIsoTime('2026-02-28T10:20:30+02:00')).toBe(Date.UTC(2026, 1, 28, 8, 20, 30));
    expect(parseIsoTime('2026-02-28 10:20:30-0130')).toBe(Date.UTC(2026, 1, 28, 11, 50, 30));
    expect(parseIsoTime('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoTime('0001-01-01T00:00:00Z')).toBe(-62135596800000);
  });

  it('refuses impossible dates that Date.parse rolls over, and impossible times and offsets', () => {
    expect(Date.parse('2026-02-31T00:00:00Z')).not.toBeNaN();
    for (const text of ['2026-02-31T00:00:00Z', '2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '2026-01-01T24:00:00Z', '2026-01-01T23:60Z', '2026-01-01T23:59:60Z', '2026-01-01T00:00+24:00', '0000-01-01T00:00:00Z']) {
      expect({ text, ms: parseIsoTime(text) }).toEqual({ text, ms: undefined });
    }
  });

  it('refuses what is not ISO 8601', () => {
    for (const text of ['', '1', 'May 1 2026', '2026-1-1', '2026-01-01T', '2026-01-01T00:00:00ZZ', '+002026-01-01', '2026-01-01T00:00:00 GMT']) expect(parseIsoTime(text)).toBeUndefined();
  });
});
