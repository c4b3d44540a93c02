import { sourceForViewer, urlForViewer } from './redact';

describe('sourceForViewer', () => {
  it('drops a poll source headers and the credentials in its URL', () => {
    const shown = sourceForViewer({
      type: 'poll',
      url: 'https://user:pass@api.example.com:8443/v1/events?api_key=sk_live_123&page=2#frag',
      intervalSeconds: 60,
      headers: { Authorization: 'Bearer upstream-secret' },
      itemsPath: 'data',
      cursor: { param: 'after', path: 'next' },
    });
    expect(shown).toEqual({ type: 'poll', url: 'https://api.example.com:8443/v1/events', intervalSeconds: 60, itemsPath: 'data', cursor: { param: 'after', path: 'next' } });
    expect(JSON.stringify(shown)).not.toMatch(/secret|sk_live|pass|user/);
  });

  it('leaves a webhook source as it is', () => {
    expect(sourceForViewer({ type: 'webhook' })).toEqual({ type: 'webhook' });
  });

  it('shows nothing of a URL it cannot parse', () => {
    expect(urlForViewer('not a url with sk_live_123')).toBe('');
  });
});
