import ipaddr from 'ipaddr.js';

/**
 * What an IP address is, for outbound requests (poll sources, alert webhooks): `public` only
 * for global unicast; anything else names its range (`loopback`, `private`, `uniqueLocal`,
 * `linkLocal`, `carrierGradeNat`, `discard`, `deprecatedSiteLocal`, …). IPv6 forms that carry
 * an IPv4 address (IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64, 6to4, Teredo) are
 * judged by the IPv4 address inside, so `::ffff:127.0.0.1` or `2002:7f00:1::` is loopback.
 */
export interface AddressClass {
  public: boolean;
  /** ipaddr.js's range name of the address that decided (`unicast` when public). */
  range: string;
  /** The IPv4 address an IPv6 form carries, when that is what was judged. */
  embeddedIpv4?: string;
}

// Ranges where an IPv6 address carries an IPv4 address in its last 32 bits.
const LAST_32_BITS = new Set(['ipv4Mapped', 'rfc6145']);
// 2000::/3 is the only IPv6 space IANA hands out for global unicast.
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

const refused = (range: string, embeddedIpv4?: string): AddressClass => ({ public: false, range, embeddedIpv4 });

function ipv4FromBits(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyIpv4(address: ipaddr.IPv4, embedded?: string): AddressClass {
  const range = address.range();
  return range === 'unicast' ? { public: true, range, embeddedIpv4: embedded } : refused(range, embedded);
}

/**
 * Normalises every spelling of an IPv4 address the WHATWG URL parser (and so `fetch`, `http`
 * after `new URL`) accepts: `127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1`. Returns null
 * when the text is not an IPv4 address.
 */
export function normalizeIpv4(text: string): string | null {
  if (!/^[0-9a-fA-FxX.]+$/.test(text)) return null;
  try {
    const host = new URL(`http://${text}/`).hostname;
    return ipaddr.IPv4.isValidFourPartDecimal(host) ? host : null;
  } catch {
    return null;
  }
}

// The URL parser's canonical form: ipaddr.js reads `::a.b.c.d` as IPv4-mapped, but it is
// IPv4-compatible (`::7f00:1`), which is what a connection would use.
function canonicalIpv6(text: string): string | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return null;
  try {
    const host = new URL(`http://[${text}]/`).hostname;
    const bare = host.slice(1, -1);
    return ipaddr.IPv6.isValid(bare) ? bare : null;
  } catch {
    return null;
  }
}

/** Classifies an IP address given in any spelling (brackets and IPv6 zone ids allowed); not an IP: `invalid`. */
export function classifyAddress(ip: string): AddressClass {
  let text = ip.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  // A zone id (`fe80::1%eth0`) only ever qualifies link-local addresses.
  if (text.includes('%')) return refused('linkLocal');
  const ipv4 = normalizeIpv4(text);
  if (ipv4) return classifyIpv4(ipaddr.IPv4.parse(ipv4));
  const canonical = canonicalIpv6(text);
  if (canonical === null) return refused('invalid');
  const address = ipaddr.IPv6.parse(canonical);
  const range = address.range();
  const parts = address.parts;
  if (LAST_32_BITS.has(range)) {
    const inner = ipv4FromBits(parts[6], parts[7]);
    return classifyIpv4(inner, inner.toString());
  }
  if (range === 'rfc6052') {
    // The well-known NAT64 prefix carries the IPv4 address in its last 32 bits; the local-use
    // prefix 64:ff9b:1::/48 (RFC 8215) is never global, whatever it carries.
    if (!address.match(NAT64_WELL_KNOWN)) return refused(range);
    const inner = ipv4FromBits(parts[6], parts[7]);
    return classifyIpv4(inner, inner.toString());
  }
  if (range === '6to4') {
    const inner = ipv4FromBits(parts[1], parts[2]);
    return classifyIpv4(inner, inner.toString());
  }
  if (range === 'teredo') {
    // Server address in bits 32-63, client address (inverted) in the last 32: both must be public.
    const server = ipv4FromBits(parts[2], parts[3]);
    const client = ipv4FromBits(parts[6] ^ 0xffff, parts[7] ^ 0xffff);
    const serverClass = classifyIpv4(server, server.toString());
    return serverClass.public ? classifyIpv4(client, client.toString()) : serverClass;
  }
  // IPv4-compatible (`::7f00:1`, deprecated): the first 96 bits zero. `::` and `::1` are their own ranges.
  if (range === 'unicast' && parts.slice(0, 6).every((part) => part === 0)) {
    return refused('ipv4Compatible', ipv4FromBits(parts[6], parts[7]).toString());
  }
  if (range !== 'unicast') return refused(range);
  if (!address.match(GLOBAL_UNICAST)) return refused('reserved');
  return { public: true, range };
}

/** True only for a global unicast address (after decoding any IPv4 address an IPv6 form carries). */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip).public;
}
