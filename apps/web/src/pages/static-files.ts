import { existsSync, readFileSync, statSync } from 'node:fs';
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
 * Redis, so the pages load while either is down.
 */
export class StaticFiles {
  private readonly cache = new Map<string, StaticFile | null>();
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
      }
    } catch {
      // Not built, or being rebuilt this instant: serve what we had.
    }
    return this.shellHtml;
  }

  /** An asset by its file name (no directories: the bundle is flat). */
  asset(name: string): StaticFile | null {
    if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name) || name.startsWith('.')) return null;
    if (!this.cache.has(name)) {
      const path = join(this.root, 'assets', name);
      const contentType = CONTENT_TYPES[extname(name)];
      this.cache.set(name, contentType && existsSync(path) ? { body: readFileSync(path), contentType } : null);
    }
    return this.cache.get(name) ?? null;
  }
}
