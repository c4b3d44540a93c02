import type { AlertWebhookBody } from '@dash/domain';
import type { DashConfig, DeliveryRow } from '@dash/infra';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { AlertDelivery } from './alert-delivery';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** A local receiver: answers `status` and keeps what it got. */
async function receiver(status: number): Promise<{ server: Server; url: string; got: Array<{ headers: IncomingHttpHeaders; body: string }> }> {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      got.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(status).end('no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

const row = (kind: DeliveryRow['kind'], url: string): DeliveryRow => ({
  id: '41',
  kind,
  channel: { type: 'webhook', url },
  status: 'queued',
  at: new Date('2026-01-01T00:00:00Z'),
  alert_id: 'a1',
  alert_name: 'Orders stopped',
  condition: { type: 'rate_above', perMinute: 100, seconds: 60 },
  signing_secret: SECRET,
  pipeline_id: 'p1',
  pipeline_name: 'Orders',
});

const delivery = new AlertDelivery({ publicUrl: 'https://dash.example.com', outbound: { allowPrivate: true } } as DashConfig);

describe(AlertDelivery.name, () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it.each(['firing', 'resolved', 'flapping'] as const)('posts a %s notification as its alert.<kind> body, signed with the alert\'s secret', async (kind) => {
    const hook = await receiver(204);
    server = hook.server;
    await delivery.send(row(kind, hook.url));
    const [{ headers, body }] = hook.got;
    const verified = new Webhook(SECRET).verify(body, headers as Record<string, string>) as AlertWebhookBody;
    expect(verified).toEqual({
      type: `alert.${kind}`,
      alert: { id: 'a1', name: 'Orders stopped', condition: { type: 'rate_above', perMinute: 100, seconds: 60 } },
      pipeline: { id: 'p1', name: 'Orders' },
      at: '2026-01-01T00:00:00.000Z',
      url: 'https://dash.example.com/pipelines/p1',
    });
    expect(headers['webhook-id']).toBe('alert_41');
  });

  it('fails with the receiver\'s answer when it is not 2xx', async () => {
    const hook = await receiver(500);
    server = hook.server;
    await expect(delivery.send(row('firing', hook.url))).rejects.toThrow('the receiver answered 500: no');
  });
});
