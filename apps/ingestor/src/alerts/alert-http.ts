import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { isPrivateAddress } from '../poll/safe-get';

export class AlertHttpError extends Error {}

export interface AlertPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  allowPrivate: boolean;
  timeoutMs: number;
}

/** The receiver's answer is read only this far (it is recorded in errors, never stored whole). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs an alert webhook through the same SSRF guard as polls: every address the name resolves
 * to is checked inside the connection's own lookup, redirects are not followed, and the whole
 * exchange is bounded in time and size. Resolves on 2xx; anything else rejects with the reason.
 * The one place alert HTTP goes through (to point at the shared outbound client when there is one).
 */
export function postAlert(post: AlertPost): Promise<number> {
  const url = new URL(post.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !post.allowPrivate && isPrivateAddress(host)) {
    return Promise.reject(new AlertHttpError(`refused: ${host} is a private address (set OUTBOUND_ALLOW_PRIVATE=true to allow)`));
  }
  const lookup = (hostname: string, options: object, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const blocked = addresses.find((entry) => isPrivateAddress(entry.address));
      if (blocked && !post.allowPrivate) return callback(new AlertHttpError(`refused: ${hostname} resolves to private address ${blocked.address}`), []);
      if ((options as { all?: boolean }).all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(post.body), 'user-agent': 'dash-alerts/1', ...post.headers },
        lookup,
        timeout: post.timeoutMs,
      },
      (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < MAX_RESPONSE_BYTES) text += chunk;
        });
        response.on('end', () => {
          if (status >= 200 && status < 300) resolve(status);
          else reject(new AlertHttpError(`the receiver answered ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}: ${text.slice(0, 200)}`));
        });
        response.on('error', reject);
      },
    );
    // A slow receiver holds one delivery slot for at most this long (the whole exchange).
    const deadline = setTimeout(() => request.destroy(new AlertHttpError(`no answer within ${post.timeoutMs} ms`)), post.timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('timeout', () => request.destroy(new AlertHttpError(`no answer within ${post.timeoutMs} ms`)));
    request.on('error', reject);
    request.end(post.body);
  });
}
