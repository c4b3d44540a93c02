import { Api, queryDb, testEnv } from '../support/harness';
import { killAll, spawnStack, type Proc, type WebProc } from '../support/processes';
import { prng } from '../support/prng';

const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const GENERATED_CASES = Number(process.env.FUZZ_CASES_OUTBOUND ?? 300);


/** The spellings seen getting past the old check, and their relatives. */
const KNOWN_SPELLINGS = [
  'http://127.0.0.1:6379/',
  'http://127.1/',
  'http://0x7f000001/',
  'http://2130706433/',
  'http://0177.0.0.1/',
  'http://0x7f.1/',
  'http://localhost/',
  'http://localhost./',
  'http://LocalHost../',
  'http://api.localhost/',
  'http://[::1]/',
  'http://[::]/',
  'http://[2002:7f00:1::]/',
  'http://[::7f00:1]/',
  'http://[::127.0.0.1]/',
  'http://[::ffff:0:7f00:1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[64:ff9b::7f00:1]/',
  'http://[64:ff9b:1::a00:1]/',
  'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/',
  'http://[100::1]/',
  'http://[fec0::1]/',
  'http://[fd00::1]/',
  'http://[fe80::1]/',
  'http://[ff02::1]/',
  'http://169.254.169.254/latest/meta-data',
  'http://[::ffff:a9fe:a9fe]/latest/meta-data',
  'http://100.64.0.1/',
  'http://10.0.0.1/',
  'http://192.168.0.1/',
  'http://172.16.0.1/',
  'http://0.0.0.0/',
  'http://0/',
];

const PRIVATE_V4: Array<[number, number, number, number]> = [
  [127, 0, 0, 1],
  [10, 0, 0, 1],
  [172, 16, 5, 4],
  [192, 168, 1, 1],
  [169, 254, 169, 254],
  [100, 64, 0, 1],
  [0, 0, 0, 0],
];

/** One private IPv4 address in one of the spellings a URL parser accepts, bare or inside IPv6. */
function spelling(random: ReturnType<typeof prng>): string {
  const [a, b, c, d] = random.pick(PRIVATE_V4);
  // Anywhere in 127/8 is loopback.
  const lastOctet = a === 127 ? random.int(256) : d;
  const value = ((a << 24) | (b << 16) | (c << 8) | lastOctet) >>> 0;
  const hex4 = (n: number) => n.toString(16);
  const high = hex4(value >>> 16);
  const low = hex4(value & 0xffff);
  const forms = [
    () => `${a}.${b}.${c}.${lastOctet}`,
    () => String(value),
    () => `0x${value.toString(16)}`,
    () => `0${a.toString(8)}.${b}.${c}.${lastOctet}`,
    () => (b === 0 && c === 0 ? `${a}.${lastOctet}` : `${a}.${b}.${(c << 8) | lastOctet}`),
    () => `[::ffff:${a}.${b}.${c}.${lastOctet}]`,
    () => `[::ffff:${high}:${low}]`,
    () => `[::ffff:0:${high}:${low}]`,
    () => `[::${high}:${low}]`,
    () => `[64:ff9b::${high}:${low}]`,
    () => `[2002:${high}:${low}::${random.int(0xffff).toString(16)}]`,
  ];
  return random.pick(forms)();
}

/**
 * Poll source URLs that name non-public addresses, in every spelling: saving one answers
 * 400 private_address, nothing is stored, and the processes live on.
 */
describe('outbound URLs at POST/PATCH /api/pipelines', () => {
  const env = testEnv('fuzzout');
  const procs: Proc[] = [];
  let web: WebProc;
  let api: Api;

  beforeAll(async () => {
    const stack = await spawnStack(env.env);
    procs.push(...stack.procs);
    web = stack.web;
    api = new Api(web.url);
  });

  afterAll(async () => {
    await killAll(procs);
    await env.cleanup();
  });

  const save = (url: string) => api.request('POST', '/api/pipelines', { name: 'ssrf', source: { type: 'poll', url, intervalSeconds: 3600 } });

  it.each(KNOWN_SPELLINGS)('refuses %s with 400 private_address', async (url) => {
    const answer = await save(url);
    expect({ url, status: answer.status, error: answer.body?.error }).toEqual({ url, status: 400, error: 'private_address' });
  });

  it(`refuses ${GENERATED_CASES} generated spellings of private addresses (seed ${SEED}), on create and on update, storing nothing`, async () => {
    const random = prng(SEED);
    const target = await api.createPipeline({ name: 'public', source: { type: 'poll', url: 'https://8.8.8.8/feed', intervalSeconds: 3600 } });
    const failures: string[] = [];
    for (let index = 0; index < GENERATED_CASES; index += 1) {
      const host = spelling(random);
      const url = `${random.pick(['http', 'https'])}://${host}${random.pick(['', ':6379', ':80', ':8080'])}/${random.pick(['', 'x', 'latest/meta-data'])}`;
      const answer =
        random.next() < 0.5 ? await save(url) : await api.request('PATCH', `/api/pipelines/${target.id}`, { source: { type: 'poll', url, intervalSeconds: 3600 } });
      if (answer.status !== 400 || answer.body?.error !== 'private_address') failures.push(`seed ${SEED} case ${index}: ${url} → ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    expect(failures).toEqual([]);
    const rows = await queryDb<{ url: string }>(env, "SELECT source->>'url' AS url FROM pipelines");
    expect(rows).toEqual([{ url: 'https://8.8.8.8/feed' }]);
    expect(web.alive).toBe(true);
    expect(procs.every((proc) => proc.alive)).toBe(true);
  });
});
