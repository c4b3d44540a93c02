import { DashError } from '@dash/domain';
import { assertPublicWebhookUrl } from './outbound-check';

describe(assertPublicWebhookUrl.name, () => {
  it.each(['http://127.0.0.1:8080/hook', 'http://10.0.0.7/', 'http://192.168.1.1/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[fd00::1]/', 'http://localhost:3000/', 'http://api.localhost/'])(
    'refuses %s with 400 invalid_request naming OUTBOUND_ALLOW_PRIVATE',
    async (url) => {
      const error = await assertPublicWebhookUrl(url, false).then(() => null, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(DashError);
      expect((error as DashError).status).toBe(400);
      expect((error as DashError).code).toBe('invalid_request');
      expect((error as DashError).message).toContain('OUTBOUND_ALLOW_PRIVATE');
    },
  );

  it('accepts a public address, and anything when private addresses are allowed', async () => {
    await expect(assertPublicWebhookUrl('https://8.8.8.8/hook', false)).resolves.toBeUndefined();
    await expect(assertPublicWebhookUrl('http://[2606:4700:4700::1111]/hook', false)).resolves.toBeUndefined();
    await expect(assertPublicWebhookUrl('http://127.0.0.1:8080/hook', true)).resolves.toBeUndefined();
  });
});
