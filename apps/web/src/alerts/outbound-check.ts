import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DashError } from '@dash/domain';
import ipaddr from 'ipaddr.js';

/** Loopback, private, link-local, multicast, reserved…: anything but a public unicast address. */
function isPublicAddress(address: string): boolean {
  try {
    const parsed = ipaddr.process(address);
    return parsed.range() === 'unicast';
  } catch {
    return false;
  }
}

/**
 * Save-time check of an alert webhook URL: it must reach a public address unless
 * `OUTBOUND_ALLOW_PRIVATE` (the ingestor checks again at every delivery, inside the
 * connection's own DNS lookup, so a name that later resolves elsewhere is still refused).
 * The one place to point at the shared outbound guard when there is one.
 */
export async function assertPublicWebhookUrl(value: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const url = new URL(value);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const refuse = (why: string) => new DashError(400, 'invalid_request', `channels: webhook URL ${why} (set OUTBOUND_ALLOW_PRIVATE=true to allow)`);
  if (isIP(host)) {
    if (!isPublicAddress(host)) throw refuse(`${host} is not a public address`);
    return;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) throw refuse(`${host} is not a public address`);
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host, { all: true });
  } catch {
    throw new DashError(400, 'invalid_request', `channels: webhook URL host ${host} does not resolve`);
  }
  const blocked = addresses.find((entry) => !isPublicAddress(entry.address));
  if (blocked) throw refuse(`${host} resolves to non-public address ${blocked.address}`);
}
