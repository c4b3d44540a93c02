import { DashError } from '@dash/domain';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { classifyAddress } from './address';
import { assertPublicHostLiteral, parseOutboundUrl, privateAddressError } from './public-url';

/** Why an outbound request failed. */
export type OutboundFailure = 'invalid_url' | 'private_address' | 'header_not_allowed' | 'timeout' | 'too_large' | 'network';

export class OutboundError extends Error {
  constructor(
    readonly reason: OutboundFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundRequest {
  method?: 'GET' | 'POST';
  url: string | URL;
  /** Only names from the allow-list (see isAllowedHeaderName); anything else is refused. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** For the whole exchange: DNS, connection, request and every byte of the response. */
  timeoutMs?: number;
  /** Largest response body read; a larger one fails with `too_large`. */
  maxBytes?: number;
  /** `config.outbound.allowPrivate`: reach loopback, private and other non-public addresses. */
  allowPrivate: boolean;
  /** Resolves a name to all its addresses; `dns.lookup` unless a test gives another. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

// Headers a user (a poll source's settings, an alert's request) may set. The ones that frame
// the request (Host, Content-Length, Transfer-Encoding, Connection, Upgrade, TE, Expect, …)
// are the client's own: overriding them smuggles requests or reaches other virtual hosts.
const USER_HEADERS = new Set([
  'accept',
  'accept-language',
  'authorization',
  'cache-control',
  'content-type',
  'cookie',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'pragma',
  'user-agent',
]);

/** Whether a user may set this request header on an outbound request. */
export function isAllowedHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return USER_HEADERS.has(lower) || /^(x|webhook|svix)-[a-z0-9][a-z0-9-]{0,99}$/.test(lower);
}

const defaultResolve = (hostname: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

const failure = (error: unknown): OutboundError => {
  if (error instanceof OutboundError) return error;
  if (error instanceof DashError) return new OutboundError(error.code === 'private_address' ? 'private_address' : 'invalid_url', error.message);
  return new OutboundError('network', (error as Error).message);
};

/**
 * One HTTP(S) request to a URL a user chose, safe against SSRF: the host is checked before
 * connecting (IP literals in any spelling, local names) and every address a name resolves to
 * is checked inside the connection's own lookup, so DNS rebinding cannot slip a private
 * address past the check. Redirects are never followed (a 3xx is returned as it is). The
 * whole exchange has one deadline, so a server trickling bytes cannot hold it past
 * `timeoutMs`, and the body is capped at `maxBytes`. Rejects with an `OutboundError`.
 */
export function outboundRequest(options: OutboundRequest): Promise<OutboundResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
  const method = options.method ?? 'GET';
  const resolveName = options.resolve ?? defaultResolve;
  let url: URL;
  try {
    url = parseOutboundUrl(options.url);
    if (!options.allowPrivate) assertPublicHostLiteral(url);
  } catch (error) {
    return Promise.reject(failure(error));
  }
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'dash/1' };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!isAllowedHeaderName(name)) return Promise.reject(new OutboundError('header_not_allowed', `the header ${JSON.stringify(name)} cannot be set`));
    if (/[\r\n\0]/.test(value)) return Promise.reject(new OutboundError('header_not_allowed', `the header ${JSON.stringify(name)} has a line break`));
    headers[name.toLowerCase()] = value;
  }
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  if (body) headers['content-length'] = String(body.length);

  const lookup = (hostname: string, lookupOptions: { all?: boolean }, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    resolveName(hostname).then(
      (addresses) => {
        if (addresses.length === 0) return callback(new OutboundError('network', `${hostname} has no address`), []);
        if (!options.allowPrivate) {
          for (const entry of addresses) {
            const found = classifyAddress(entry.address);
            if (!found.public) return callback(failure(privateAddressError(hostname, found, entry.address)), []);
          }
        }
        if (lookupOptions.all) return callback(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      },
      (error: Error) => callback(error, []),
    );
  };

  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, response?: OutboundResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (error) {
        request.destroy();
        reject(failure(error));
      } else if (response) resolve(response);
    };
    // Set before the request exists: finish() only runs later, from the timer or the request's events.
    const deadline = setTimeout(() => finish(new OutboundError('timeout', `no complete response within ${timeoutMs} ms`)), timeoutMs);
    // A fresh connection each time (no agent): every request goes through the lookup check.
    const request: ClientRequest = send(url, { method, headers, lookup, agent: false }, (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) return finish(new OutboundError('too_large', `the response is larger than ${maxBytes} bytes`));
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return finish(new OutboundError('too_large', `the response is larger than ${maxBytes} bytes`));
        chunks.push(chunk);
      });
      response.on('end', () => finish(null, { status, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', (error) => finish(error));
      response.on('aborted', () => finish(new OutboundError('network', 'the connection closed before the response ended')));
    });
    request.on('error', (error) => finish(error));
    request.end(body);
  });
}
