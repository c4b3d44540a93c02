import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/**
 * The client bundle built by scripts/build-client.mjs into dist/apps/web/public: the HTML shell
 * and hashed assets, read from disk once and kept in memory. Nothing here touches PostgreSQL or
 * Redis, so the pages load while either is down. Only files that exist are held (the asset
 * directory is listed when the shell is read, and again when a rebuild replaces it): a request
 * for a name that is not there costs a set lookup and nothing is kept for it, so anonymous
 * requests for random names cannot grow the process.
 */
export class StaticFiles {
  private readonly cache = new Map<string, StaticFile>();
  /** The names in assets/ as of the current shell. */
  private assetNames = new Set<string>();
  private shellHtml: string | null = null;
  private shellStamp = 0;

  constructor(readonly root: string) {}

  /** The built public directory: beside the compiled app in dist, or from the workspace when run from source (tests). */
  static locate(from = __dirname): StaticFiles {
    const candidates = [resolve(from, '../../public'), resolve(from, '../../../../dist/apps/web/public'), resolve(process.cwd(), 'dist/apps/web/public')];
    return new StaticFiles(candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]);
  }

  /** The HTML shell, read again when a rebuild replaced it (it names the new hashed assets). */
  shell(): string | null {
    const path = join(this.root, 'index.html');
    try {
      const stamp = statSync(path).mtimeMs;
      if (this.shellHtml === null || stamp !== this.shellStamp) {
        this.shellHtml = readFileSync(path, 'utf8');
        this.shellStamp = stamp;
        this.listAssets();
      }
    } catch {
      // Not built, or being rebuilt this instant: serve what we had.
    }
    return this.shellHtml;
  }

  /** An asset by its file name (no directories: the bundle is flat). */
  asset(name: string): StaticFile | null {
    if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name) || name.startsWith('.')) return null;
    const cached = this.cache.get(name);
    if (cached) return cached;
    if (this.shellHtml === null) this.shell();
    const contentType = CONTENT_TYPES[extname(name)];
    if (!contentType || !this.assetNames.has(name)) return null;
    try {
      const file = { body: readFileSync(join(this.root, 'assets', name)), contentType };
      this.cache.set(name, file);
      return file;
    } catch {
      return null; // removed by a rebuild since the listing
    }
  }

  /** How many files are held in memory (for tests: misses must not add any). */
  get cachedCount(): number {
    return this.cache.size;
  }

  // The cache holds only files of the current listing, so it is bounded by the bundle's size.
  private listAssets(): void {
    try {
      this.assetNames = new Set(readdirSync(join(this.root, 'assets')));
    } catch {
      this.assetNames = new Set();
    }
    for (const name of this.cache.keys()) if (!this.assetNames.has(name)) this.cache.delete(name);
  }
}
