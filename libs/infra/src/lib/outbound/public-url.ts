import { DashError } from '@dash/domain';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import { classifyAddress, normalizeIpv4, type AddressClass } from './address';

const ALLOW_HINT = 'set OUTBOUND_ALLOW_PRIVATE=true to allow';
// Saving a URL should not hang on a slow resolver; the connection-time check still applies.
const SAVE_LOOKUP_TIMEOUT_MS = 3_000;

/** The host of a URL as something to classify: the IP text, or a DNS name without its trailing dots. */
export interface OutboundHost {
  /** The IP address, when the URL names one (in any spelling), normalised. */
  ip: string | null;
  /** The DNS name, lower case, without trailing dots; null for an IP. */
  name: string | null;
}

export function parseOutboundUrl(raw: string | URL): URL {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch {
    throw new DashError(400, 'invalid_url', 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DashError(400, 'invalid_url', 'must be an http or https URL');
  return url;
}

export function outboundHost(url: URL): OutboundHost {
  const host = url.hostname.toLowerCase();
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (isIP(bare)) return { ip: bare, name: null };
  const ipv4 = normalizeIpv4(bare.replace(/\.+$/, ''));
  if (ipv4) return { ip: ipv4, name: null };
  return { ip: null, name: bare.replace(/\.+$/, '') };
}

/** Names that mean this machine (or this network) whatever DNS says: RFC 6761 `localhost` and its subdomains. */
export function isLocalName(name: string): boolean {
  return name === '' || name === 'localhost' || name.endsWith('.localhost') || name === 'localhost.localdomain';
}

export function privateAddressError(host: string, found: AddressClass, address?: string): DashError {
  const what = address && address !== host ? `${host} resolves to ${address}, ` : `${host} is `;
  const inner = found.embeddedIpv4 ? ` (carrying ${found.embeddedIpv4})` : '';
  return new DashError(400, 'private_address', `refused: ${what}a non-public address${inner} (${found.range}); ${ALLOW_HINT}`);
}

/** Throws `400 private_address` when the URL names a non-public IP or a local name; DNS names are left to the caller. */
export function assertPublicHostLiteral(url: URL): OutboundHost {
  const host = outboundHost(url);
  if (host.ip) {
    const found = classifyAddress(host.ip);
    if (!found.public) throw privateAddressError(url.hostname, found, host.ip);
  } else if (host.name !== null && isLocalName(host.name)) {
    throw new DashError(400, 'private_address', `refused: ${url.hostname} names this machine; ${ALLOW_HINT}`);
  }
  return host;
}

function lookupAll(name: string): Promise<string[] | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), SAVE_LOOKUP_TIMEOUT_MS);
    dnsLookup(name, { all: true, verbatim: true }, (error, addresses) => {
      clearTimeout(timer);
      resolve(error ? null : addresses.map((entry) => entry.address));
    });
  });
}

/**
 * Refuses, with a `DashError` 400, a URL an outbound request must not reach: not http(s)
 * (`invalid_url`), or a loopback, private, link-local or otherwise non-public address in any
 * spelling, a local name, or a DNS name any of whose addresses is non-public (`private_address`).
 * A name that does not resolve now passes: the check at connection time (outboundRequest) still
 * applies, and it is the one that counts against DNS rebinding.
 */
export async function assertPublicUrl(raw: string | URL, allowPrivate: boolean): Promise<URL> {
  const url = parseOutboundUrl(raw);
  if (allowPrivate) return url;
  const host = assertPublicHostLiteral(url);
  if (host.name) {
    for (const address of (await lookupAll(host.name)) ?? []) {
      const found = classifyAddress(address);
      if (!found.public) throw privateAddressError(url.hostname, found, address);
    }
  }
  return url;
}
