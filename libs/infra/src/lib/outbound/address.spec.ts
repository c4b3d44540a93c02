import { hostname } from 'node:os';
import { classifyAddress, isPublicAddress, normalizeIpv4 } from './address';
import { assertPublicUrl } from './public-url';

describe('classifyAddress', () => {
  it.each([
    // IPv4 in every spelling the URL parser accepts
    ['127.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['0x7f.0.0.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    // IPv6 ranges
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['ff02::1', 'multicast'],
    ['100::1', 'discard'],
    ['100::', 'discard'],
    ['fec0::1', 'deprecatedSiteLocal'],
    ['2001:db8::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['4000::1', 'reserved'],
    // IPv6 forms carrying a private IPv4 address
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:a00:1', 'private'],
    ['[2002:7f00:1::]', 'loopback'],
    ['2002:a9fe:a9fe::1', 'linkLocal'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b:1::808:808', 'rfc6052'],
    ['64:ff9b:1::7f00:1', 'rfc6052'],
    ['::7f00:1', 'ipv4Compatible'],
    ['::127.0.0.1', 'ipv4Compatible'],
    ['::8.8.8.8', 'ipv4Compatible'],
    // Teredo: server 65.54.227.120, client 127.0.0.1 (inverted: 80ff:fffe)
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'],
    // Teredo with a private server address
    ['2001:0:a00:1::1', 'private'],
    ['not an address', 'invalid'],
    ['', 'invalid'],
    ['1.2.3.4.5', 'invalid'],
  ])('%s is not public (%s)', (ip, range) => {
    const found = classifyAddress(ip);
    expect(found.public).toBe(false);
    expect(found.range).toBe(range);
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['2606:4700:4700::1111'],
    ['::ffff:8.8.8.8'],
    ['64:ff9b::808:808'],
    ['2002:808:808::1'],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7'],
  ])('%s is public', (ip) => {
    expect(classifyAddress(ip).public).toBe(true);
  });

  it('names the IPv4 address an IPv6 form carries', () => {
    expect(classifyAddress('2002:7f00:1::')).toEqual({ public: false, range: 'loopback', embeddedIpv4: '127.0.0.1' });
    expect(classifyAddress('::ffff:0:7f00:1').embeddedIpv4).toBe('127.0.0.1');
  });

  it('normalises the IPv4 spellings and leaves names alone', () => {
    expect(normalizeIpv4('127.1')).toBe('127.0.0.1');
    expect(normalizeIpv4('0x7f000001')).toBe('127.0.0.1');
    expect(normalizeIpv4('2130706433')).toBe('127.0.0.1');
    expect(normalizeIpv4('example.com')).toBeNull();
    expect(normalizeIpv4('deadbeef')).toBeNull();
  });
});

describe('assertPublicUrl', () => {
  it.each([
    'http://127.0.0.1:6379/',
    'http://127.1/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://localhost/',
    'http://localhost./',
    'http://LOCALHOST../',
    'http://api.localhost/',
    'http://[::1]/',
    'http://[2002:7f00:1::]/',
    'http://[::7f00:1]/',
    'http://[::ffff:0:7f00:1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[64:ff9b:1::808:808]/',
    'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/',
    'http://[100::1]/',
    'http://[fec0::1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[ff02::1]/',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/',
    'https://10.0.0.1/',
  ])('refuses %s with 400 private_address', async (url) => {
    await expect(assertPublicUrl(url, false)).rejects.toMatchObject({ status: 400, code: 'private_address' });
  });

  it('refuses a name that resolves to a private address', async () => {
    // The machine's own name resolves to one of its own addresses (loopback, or a private one in a container).
    await expect(assertPublicUrl(`http://${hostname()}:8080/`, false)).rejects.toMatchObject({ code: 'private_address' });
  });

  it.each(['ftp://example.com/', 'file:///etc/passwd', 'gopher://127.0.0.1/', 'not a url'])('refuses %s with 400 invalid_url', async (url) => {
    await expect(assertPublicUrl(url, false)).rejects.toMatchObject({ status: 400, code: 'invalid_url' });
  });

  it('accepts public addresses, and anything when private addresses are allowed', async () => {
    await expect(assertPublicUrl('https://8.8.8.8/x', false)).resolves.toBeInstanceOf(URL);
    await expect(assertPublicUrl('http://[2606:4700:4700::1111]/', false)).resolves.toBeInstanceOf(URL);
    await expect(assertPublicUrl('http://127.0.0.1:6379/', true)).resolves.toBeInstanceOf(URL);
  });
});
