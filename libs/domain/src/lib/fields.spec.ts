import { MAX_FIELD_EXAMPLE_LENGTH, payloadFields } from './fields';

describe(payloadFields.name, () => {
  it('lists every dot path breadth first, with its type and a scalar example', () => {
    const fields = payloadFields({ type: 'order.paid', data: { order: { total: 42.5, currency: 'EUR', paid: true, note: null }, items: [{ sku: 'a' }] } });
    expect(fields).toEqual([
      { path: 'type', type: 'string', example: 'order.paid' },
      { path: 'data', type: 'object' },
      { path: 'data.order', type: 'object' },
      { path: 'data.items', type: 'array' },
      { path: 'data.order.total', type: 'number', example: 42.5 },
      { path: 'data.order.currency', type: 'string', example: 'EUR' },
      { path: 'data.order.paid', type: 'boolean', example: true },
      { path: 'data.order.note', type: 'null', example: null },
    ]);
  });

  it('bounds depth, count and example length, and skips keys a dot path cannot name', () => {
    expect(payloadFields({ a: { b: { c: { d: 1 } } } }, 2).map((field) => field.path)).toEqual(['a', 'a.b']);
    const wide = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, { inner: i }]));
    const capped = payloadFields(wide, 8, 60);
    expect(capped).toHaveLength(60);
    expect(capped.slice(0, 50).every((field) => field.type === 'object')).toBe(true);
    expect(payloadFields({ 'a.b': 1, '': 2, ok: 'x'.repeat(500) })).toEqual([{ path: 'ok', type: 'string', example: 'x'.repeat(MAX_FIELD_EXAMPLE_LENGTH) }]);
    expect(payloadFields([1, 2])).toEqual([]);
  });
});
