// Reference design: what a plain service does without batching — verify the signature,
// parse, and one INSERT per request before answering 202 (each request its own commit).
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10), application_name: 'bench-naive' });
pool.on('error', () => undefined);
const key = Buffer.from(process.env.SIGNING_SECRET.replace(/^whsec_/, ''), 'base64');
const INSERT = `INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload) VALUES ($1, $2, $3, $4, $5, $6)`;

function reply(response, status, body) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function handle(request, response, body) {
  const id = request.headers['webhook-id'];
  const timestamp = request.headers['webhook-timestamp'];
  const signature = String(request.headers['webhook-signature'] ?? '');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  const ok = signature.split(' ').some((part) => {
    const given = Buffer.from(part.slice(3), 'base64');
    return part.startsWith('v1,') && given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!ok) return reply(response, 401, { error: 'invalid_signature' });
  const event = JSON.parse(body.toString('utf8'));
  const pipelineId = request.url.split('/')[2];
  const now = new Date();
  await pool.query(INSERT, [pipelineId, id, event.type ?? null, event.timestamp ? new Date(event.timestamp) : now, now, event]);
  reply(response, 202, { accepted: 1 });
}

const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    handle(request, response, Buffer.concat(chunks)).catch((error) => reply(response, 503, { error: 'unavailable', message: error.message }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
