import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAllowedHeaderName, outboundRequest } from './outbound-request';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server on loopback whose answer each test chooses. */
async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ port: number; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString() });
      handler(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const json = (response: ServerResponse, status = 200) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end('{"ok":true}');
};

describe('outboundRequest', () => {
  it('refuses at connection time a name that resolves to a private address, and never connects', async () => {
    const server = await serve((_, response) => json(response));
    try {
      // The name passes every check before connecting; only the connection's own lookup sees 127.0.0.1 (DNS rebinding).
      const resolve = () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
      await expect(outboundRequest({ url: `http://rebound.example:${server.port}/`, allowPrivate: false, resolve })).rejects.toMatchObject({ reason: 'private_address', message: expect.stringContaining('refused') });
      expect(server.seen).toHaveLength(0);
      // The same request with private addresses allowed gets through.
      const allowed = await outboundRequest({ url: `http://rebound.example:${server.port}/`, allowPrivate: true, resolve });
      expect(allowed.status).toBe(200);
      expect(server.seen).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it.each(['127.1', '0x7f000001', '2130706433', 'localhost', 'localhost.', '[::ffff:127.0.0.1]'])('refuses the private host %s before connecting', async (host) => {
    const server = await serve((_, response) => json(response));
    try {
      await expect(outboundRequest({ url: `http://${host}:${server.port}/`, allowPrivate: false })).rejects.toMatchObject({ reason: 'private_address' });
      expect(server.seen).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('holds a trickling server no longer than the total deadline', async () => {
    let timer: NodeJS.Timeout | undefined;
    const server = await serve((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      // One byte every 50 ms for a minute: each byte resets an idle timeout, never a total one.
      let sent = 0;
      timer = setInterval(() => (sent++ < 1200 ? response.write(' ') : response.end('{}')), 50);
    });
    try {
      await expect(outboundRequest({ url: `http://127.0.0.1:${server.port}/`, allowPrivate: true, timeoutMs: 400 })).rejects.toMatchObject({ reason: 'timeout' });
      // The server was still sending when the request gave up.
      expect(server.seen).toHaveLength(1);
    } finally {
      clearInterval(timer);
      await server.close();
    }
  });

  it('stops reading past maxBytes, declared or not', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    const server = await serve((request, response) => {
      if (request.url === '/chunked') {
        response.writeHead(200);
        response.write(big);
        response.end(big);
      } else {
        response.writeHead(200, { 'content-length': String(big.length) });
        response.end(big);
      }
    });
    try {
      await expect(outboundRequest({ url: `http://127.0.0.1:${server.port}/declared`, allowPrivate: true, maxBytes: 1024 * 1024 })).rejects.toMatchObject({ reason: 'too_large' });
      await expect(outboundRequest({ url: `http://127.0.0.1:${server.port}/chunked`, allowPrivate: true, maxBytes: 1024 * 1024 })).rejects.toMatchObject({ reason: 'too_large' });
    } finally {
      await server.close();
    }
  });

  it('does not follow redirects', async () => {
    const server = await serve((request, response) => {
      if (request.url === '/start') {
        response.writeHead(302, { location: '/secret' });
        response.end();
      } else json(response);
    });
    try {
      const answer = await outboundRequest({ url: `http://127.0.0.1:${server.port}/start`, allowPrivate: true });
      expect(answer.status).toBe(302);
      expect(answer.headers.location).toBe('/secret');
      expect(server.seen.map((request) => request.url)).toEqual(['/start']);
    } finally {
      await server.close();
    }
  });

  it.each(['Host', 'transfer-encoding', 'Content-Length', 'connection', 'upgrade', 'te', 'expect', 'proxy-authorization', 'x bad'])('refuses to let a user set %s', async (name) => {
    const server = await serve((_, response) => json(response));
    try {
      expect(isAllowedHeaderName(name)).toBe(false);
      await expect(outboundRequest({ url: `http://127.0.0.1:${server.port}/`, allowPrivate: true, headers: { [name]: 'evil' } })).rejects.toMatchObject({ reason: 'header_not_allowed' });
      expect(server.seen).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('sends a POST body with the allowed headers and answers status, headers and body', async () => {
    const server = await serve((_, response) => {
      response.writeHead(201, { 'x-reply': 'yes' });
      response.end('done');
    });
    try {
      const answer = await outboundRequest({
        method: 'POST',
        url: `http://127.0.0.1:${server.port}/hook`,
        allowPrivate: true,
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer k', 'webhook-id': 'msg_1', 'X-Api-Key': 'k1' },
        body: '{"type":"alert.firing"}',
      });
      expect(answer).toEqual({ status: 201, headers: expect.objectContaining({ 'x-reply': 'yes' }), body: Buffer.from('done') });
      expect(server.seen[0]).toMatchObject({
        method: 'POST',
        body: '{"type":"alert.firing"}',
        headers: expect.objectContaining({ 'content-type': 'application/json', authorization: 'Bearer k', 'webhook-id': 'msg_1', 'x-api-key': 'k1', 'content-length': '23' }),
      });
    } finally {
      await server.close();
    }
  });
});
