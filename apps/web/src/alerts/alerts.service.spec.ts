import { randomUUID } from 'node:crypto';
import { DashError, MAX_ALERTS_PER_PIPELINE, type AlertInput } from '@dash/domain';
import type { AlertRow, AlertsRepository, DashConfig, NotificationRow } from '@dash/infra';
import type { AlertChangesPublisher } from './alert-changes';
import { createAlertSchema, updateAlertSchema } from './alerts.schemas';
import { AlertsService, NOTIFICATIONS_LISTED } from './alerts.service';

const PIPELINE = '6f1c2a7e-4b1d-4c3e-9a55-0d2a8f0e1b12';
const HOOK = 'https://hooks.example.com/dash';

/** A hand-written AlertsRepository over an array, with the cap applied as the SQL applies it. */
class FakeAlerts implements Pick<AlertsRepository, 'list' | 'find' | 'create' | 'update' | 'delete' | 'lastNotifications'> {
  readonly rows: AlertRow[] = [];
  readonly notes: NotificationRow[] = [];
  readonly asked: Array<{ ids: readonly string[]; limit: number }> = [];
  pipelineGone = false;

  async list(pipelineId: string) {
    return this.rows.filter((row) => row.pipeline_id === pipelineId);
  }
  async find(pipelineId: string, alertId: string) {
    return this.rows.find((row) => row.pipeline_id === pipelineId && row.id === alertId) ?? null;
  }
  async create(pipelineId: string, alert: AlertInput, signingSecret: string | null, max: number) {
    if (this.pipelineGone) return null;
    if ((await this.list(pipelineId)).length >= max) return 'full' as const;
    const row: AlertRow = { id: randomUUID(), pipeline_id: pipelineId, ...alert, signing_secret: signingSecret, state: 'ok', since: new Date(), version: 1, created_at: new Date() };
    this.rows.push(row);
    return row;
  }
  async update(pipelineId: string, alertId: string, alert: AlertInput, newSecret: string | null) {
    const row = await this.find(pipelineId, alertId);
    if (!row) return null;
    Object.assign(row, alert, { signing_secret: row.signing_secret ?? newSecret, version: row.version + 1 });
    return row;
  }
  async delete(pipelineId: string, alertId: string) {
    const at = this.rows.findIndex((row) => row.pipeline_id === pipelineId && row.id === alertId);
    if (at >= 0) this.rows.splice(at, 1);
    return at >= 0;
  }
  async lastNotifications(ids: readonly string[], limit: number) {
    this.asked.push({ ids, limit });
    return this.notes.filter((n) => ids.includes(n.alert_id));
  }
}

class FakeChanges implements Pick<AlertChangesPublisher, 'announce'> {
  readonly announced: string[] = [];
  async announce(_pipelineId: string, alertId: string) {
    this.announced.push(alertId);
  }
}

function setup(smtp = true, allowPrivate = false) {
  const alerts = new FakeAlerts();
  const changes = new FakeChanges();
  const config = { smtpUrl: smtp ? 'smtp://mail.example.com:25' : undefined, outbound: { allowPrivate } } as Pick<DashConfig, 'smtpUrl' | 'outbound'>;
  return { alerts, changes, service: new AlertsService(alerts, config, changes) };
}

const webhookAlert = (name = 'Orders stopped') => createAlertSchema.parse({ name, condition: { type: 'silence', seconds: 60 }, channels: [{ type: 'webhook', url: HOOK }] });
const emailAlert = () => createAlertSchema.parse({ name: 'Mail', condition: { type: 'failures' }, channels: [{ type: 'email', to: ['ops@example.com'] }] });
const refusal = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error as DashError);

describe(AlertsService.name, () => {
  it('creates an alert with a whsec_ secret shown once where it has a webhook, and tells the ingestors', async () => {
    const { service, changes } = setup();
    const created = await service.create(PIPELINE, webhookAlert());
    expect(created).toMatchObject({ name: 'Orders stopped', state: 'ok', channels: [{ type: 'webhook', url: HOOK }] });
    expect(created.signingSecret).toMatch(/^whsec_/);
    expect(changes.announced).toEqual([created.id]);
    const listed = await service.list(PIPELINE, true);
    expect(listed.items[0]).not.toHaveProperty('signingSecret');
  });

  it('makes no secret for an e-mail only alert', async () => {
    const { service } = setup();
    expect(await service.create(PIPELINE, emailAlert())).not.toHaveProperty('signingSecret');
  });

  it(`refuses the alert past ${MAX_ALERTS_PER_PIPELINE} on a pipeline with 400, and announces nothing`, async () => {
    const { service, alerts, changes } = setup();
    for (let i = 0; i < MAX_ALERTS_PER_PIPELINE; i++) await service.create(PIPELINE, webhookAlert(`a${i}`));
    const error = await refusal(service.create(PIPELINE, webhookAlert('one too many')));
    expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(error?.message).toContain(`at most ${MAX_ALERTS_PER_PIPELINE} alerts`);
    expect(alerts.rows).toHaveLength(MAX_ALERTS_PER_PIPELINE);
    expect(changes.announced).toHaveLength(MAX_ALERTS_PER_PIPELINE);
  });

  it('answers 404 when the pipeline went away meanwhile', async () => {
    const { service, alerts } = setup();
    alerts.pipelineGone = true;
    expect(await refusal(service.create(PIPELINE, webhookAlert()))).toMatchObject({ status: 404 });
  });

  it('refuses e-mail without SMTP_URL and a private webhook address, storing nothing', async () => {
    const { service, alerts } = setup(false);
    expect(await refusal(service.create(PIPELINE, emailAlert()))).toMatchObject({ status: 400, message: expect.stringContaining('SMTP_URL') });
    const privateHook = createAlertSchema.parse({ name: 'x', condition: { type: 'failures' }, channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook' }] });
    expect(await refusal(service.create(PIPELINE, privateHook))).toMatchObject({ status: 400 });
    expect(alerts.rows).toEqual([]);
  });

  it('lists with each alert\'s notifications newest first, the viewer without where channels go, and whether e-mail is available', async () => {
    const { service, alerts } = setup(false, true);
    const created = await service.create(PIPELINE, webhookAlert());
    alerts.notes.push({ alert_id: created.id, at: new Date('2026-01-01T00:00:00Z'), channel: { type: 'webhook', url: HOOK }, kind: 'flapping', status: 'queued', attempts: 1, error: 'ENOTFOUND' });
    const admin = await service.list(PIPELINE, true);
    expect(admin.emailAvailable).toBe(false);
    expect(admin.items[0].notifications).toEqual([{ at: '2026-01-01T00:00:00.000Z', channel: 'webhook', kind: 'flapping', status: 'queued', attempts: 1, error: 'ENOTFOUND' }]);
    expect(alerts.asked.at(-1)).toEqual({ ids: [created.id], limit: NOTIFICATIONS_LISTED });
    const viewer = await service.list(PIPELINE, false);
    expect(viewer.items[0].channels).toEqual([{ type: 'webhook' }]);
    expect((await setup().service.list(PIPELINE, true)).emailAvailable).toBe(true);
  });

  it('changes only what it is given, gives a first webhook its secret once, and keeps an existing secret', async () => {
    const { service, changes } = setup();
    const mail = await service.create(PIPELINE, emailAlert());
    const renamed = await service.update(PIPELINE, mail.id, updateAlertSchema.parse({ name: 'Renamed' }));
    expect(renamed).toMatchObject({ name: 'Renamed', condition: { type: 'failures' }, channels: [{ type: 'email', to: ['ops@example.com'] }], version: 2 });
    expect(renamed).not.toHaveProperty('signingSecret');
    const hooked = await service.update(PIPELINE, mail.id, updateAlertSchema.parse({ channels: [{ type: 'webhook', url: HOOK }] }));
    expect(hooked.signingSecret).toMatch(/^whsec_/);
    const again = await service.update(PIPELINE, mail.id, updateAlertSchema.parse({ channels: [{ type: 'webhook', url: `${HOOK}/2` }] }));
    expect(again).not.toHaveProperty('signingSecret');
    expect(changes.announced).toEqual([mail.id, mail.id, mail.id, mail.id]);
  });

  it('answers 404 for an unknown or malformed alert id, on change and on delete', async () => {
    const { service } = setup();
    for (const id of [randomUUID(), 'not-a-uuid']) {
      expect(await refusal(service.update(PIPELINE, id, updateAlertSchema.parse({ name: 'x' })))).toMatchObject({ status: 404, code: 'not_found' });
      expect(await refusal(service.remove(PIPELINE, id))).toMatchObject({ status: 404, code: 'not_found' });
    }
  });

  it('deletes once and tells the ingestors', async () => {
    const { service, changes } = setup();
    const created = await service.create(PIPELINE, webhookAlert());
    await service.remove(PIPELINE, created.id);
    expect((await service.list(PIPELINE, true)).items).toEqual([]);
    expect(changes.announced).toEqual([created.id, created.id]);
  });
});

describe('alert limits in the schemas', () => {
  const channel = { type: 'webhook', url: HOOK };
  it('takes 5 channels and 10 addresses, and refuses more with a message saying the limit', () => {
    expect(createAlertSchema.safeParse({ name: 'x', condition: { type: 'failures' }, channels: Array(5).fill(channel) }).success).toBe(true);
    const six = createAlertSchema.safeParse({ name: 'x', condition: { type: 'failures' }, channels: Array(6).fill(channel) });
    expect(six.error?.issues[0].message).toBe('at most 5 channels per alert');
    const to = (n: number) => Array.from({ length: n }, (_, i) => `ops${i}@example.com`);
    expect(createAlertSchema.safeParse({ name: 'x', condition: { type: 'failures' }, channels: [{ type: 'email', to: to(10) }] }).success).toBe(true);
    const eleven = updateAlertSchema.safeParse({ channels: [{ type: 'email', to: to(11) }] });
    expect(eleven.error?.issues[0].message).toBe('at most 10 addresses per e-mail channel');
  });
});
