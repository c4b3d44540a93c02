import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';

/** One alert webhook as received: its Standard Webhooks id, body, and whether its signature verified. */
export interface ReceivedAlert {
  id: string;
  verified: boolean;
  body: { type: string; alert: { id: string; name: string; condition: unknown }; pipeline: { id: string; name: string }; at: string; url: string };
}

/**
 * A real HTTP receiver of alert webhooks, verifying each signature with the secret of the
 * alert it names (`standardwebhooks`' own `Webhook.verify`). Paths listed in `failing` answer 500.
 */
export class AlertReceiver {
  readonly received: ReceivedAlert[] = [];
  readonly secrets = new Map<string, string>();
  readonly failing = new Set<string>();
  url = '';
  private server: Server | null = null;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          const body = JSON.parse(raw) as ReceivedAlert['body'];
          const secret = this.secrets.get(body.alert?.id) ?? 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
          let verified = true;
          try {
            new Webhook(secret).verify(raw, request.headers as Record<string, string>);
          } catch {
            verified = false;
          }
          if (this.failing.has(request.url ?? '')) {
            response.writeHead(500).end('receiver down');
            return;
          }
          this.received.push({ id: String(request.headers['webhook-id']), verified, body });
          response.writeHead(200).end('ok');
        } catch {
          response.writeHead(400).end('bad json');
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  of(alertId: string): ReceivedAlert[] {
    return this.received.filter((entry) => entry.body.alert.id === alertId);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
}

/** A real SMTP server (the `smtp-server` package) that keeps every message it accepts. */
export class MailSink {
  readonly mails: ReceivedMail[] = [];
  private server: SMTPServer | null = null;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          // Split the headers from the body, then unfold continued header lines (only there: a
          // quoted-printable body's soft breaks may be followed by a space of the text).
          const [folded, ...rest] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
          const head = folded.replace(/\r\n[ \t]+/g, ' ');
          const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
          const text = rest.join('\r\n\r\n').replace(/=\r\n/g, '').replace(/=3D/g, '=');
          this.mails.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address), subject, text });
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = null;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
