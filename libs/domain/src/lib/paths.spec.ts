import { filterScalars, parsePathFilter, valueAtPath } from './paths';

describe(parsePathFilter.name, () => {
  it('splits at the first = and keeps the rest as the value, empty included', () => {
    expect(parsePathFilter('data.customer=cus_1')).toEqual({ path: 'data.customer', value: 'cus_1' });
    expect(parsePathFilter('note=a=b')).toEqual({ path: 'note', value: 'a=b' });
    expect(parsePathFilter('data.x=')).toEqual({ path: 'data.x', value: '' });
  });

  it('refuses a filter without a path or with an empty key', () => {
    for (const text of ['=1', 'nothing', 'a..b=1', '.a=1', 'a.=1', `${'k'.repeat(201)}=1`]) expect(parsePathFilter(text)).toBeNull();
  });
});

describe(filterScalars.name, () => {
  it('matches the string always, and the number, boolean or null the text spells', () => {
    expect(filterScalars('cus_1')).toEqual(['"cus_1"']);
    expect(filterScalars('42')).toEqual(['"42"', '42']);
    expect(filterScalars('-1.5e3')).toEqual(['"-1.5e3"', '-1.5e3']);
    expect(filterScalars('true')).toEqual(['"true"', 'true']);
    expect(filterScalars('null')).toEqual(['"null"', 'null']);
    // Not JSON numbers: kept as strings only.
    expect(filterScalars('042')).toEqual(['"042"']);
    expect(filterScalars('1e999')).toEqual(['"1e999"']);
    expect(filterScalars('say "hi"')).toEqual(['"say \\"hi\\""']);
  });

  it('agrees with valueAtPath on where a value is', () => {
    expect(valueAtPath({ items: [{ sku: 'a' }] }, 'items.0.sku')).toBe('a');
  });
});
