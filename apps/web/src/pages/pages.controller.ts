import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import { DashError } from '@dash/domain';
import type { FastifyReply } from 'fastify';
import { StaticFiles } from './static-files';

// The pages load only their own script and style and talk only to this origin (HTTP and the socket).
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The dashboard pages: one HTML shell for `/`, `/pipelines/:id`, `/tokens` and `/cluster` (the client reads the path)
 * and its assets. Public on purpose: the page asks for a token and sends it to /api itself.
 */
@Controller()
export class PagesController {
  private readonly files = StaticFiles.locate();

  @Get()
  home(@Res() reply: FastifyReply): void {
    this.sendShell(reply);
  }

  @Get('pipelines/:id')
  pipeline(@Res() reply: FastifyReply): void {
    this.sendShell(reply);
  }

  @Get('tokens')
  tokens(@Res() reply: FastifyReply): void {
    this.sendShell(reply);
  }

  @Get('cluster')
  cluster(@Res() reply: FastifyReply): void {
    this.sendShell(reply);
  }

  @Get('assets/:file')
  @Header('x-content-type-options', 'nosniff')
  asset(@Param('file') file: string, @Res() reply: FastifyReply): void {
    const found = this.files.asset(file);
    if (!found) throw new DashError(404, 'not_found', `no asset ${file}`);
    // Asset names carry a content hash: cache them for good.
    void reply.header('content-type', found.contentType).header('cache-control', 'public, max-age=31536000, immutable').send(found.body);
  }

  private sendShell(reply: FastifyReply): void {
    const html = this.files.shell();
    void reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      // The address may carry ?token= for a moment: never pass it on.
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache');
    if (html === null) {
      void reply.status(503).header('content-type', 'text/plain; charset=utf-8').send(`The dashboard is not built (looked in ${this.files.root}). Run: npx nx build web\n`);
      return;
    }
    void reply.header('content-type', 'text/html; charset=utf-8').send(html);
  }
}
