import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticFiles } from './static-files';

describe(StaticFiles.name, () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'dash-static-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<script src="/assets/app-1.js"></script>');
    writeFileSync(join(root, 'assets', 'app-1.js'), 'console.log(1)');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('serves an existing asset with its content type', () => {
    const files = new StaticFiles(root);
    expect(files.asset('app-1.js')).toEqual({ body: Buffer.from('console.log(1)'), contentType: 'text/javascript; charset=utf-8' });
  });

  it('keeps nothing for names that do not exist, however many are asked for', () => {
    const files = new StaticFiles(root);
    expect(files.asset('app-1.js')).not.toBeNull();
    for (let i = 0; i < 5_000; i += 1) expect(files.asset(`missing-${i}.js`)).toBeNull();
    expect(files.cachedCount).toBe(1);
  });

  it('does not serve a file that appears without a new shell, and serves it once the shell is rebuilt', () => {
    const files = new StaticFiles(root);
    expect(files.asset('app-2.js')).toBeNull();
    writeFileSync(join(root, 'assets', 'app-2.js'), 'console.log(2)');
    expect(files.asset('app-2.js')).toBeNull();
    writeFileSync(join(root, 'index.html'), '<script src="/assets/app-2.js"></script>');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'index.html'), later, later);
    expect(files.shell()).toContain('app-2.js');
    expect(files.asset('app-2.js')?.body.toString()).toBe('console.log(2)');
  });

  it('refuses names with directories or leading dots', () => {
    const files = new StaticFiles(root);
    expect(files.asset('../index.html')).toBeNull();
    expect(files.asset('.hidden.js')).toBeNull();
  });
});
