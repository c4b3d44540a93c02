import { Controller, Get, Header } from '@nestjs/common';
import { buildOpenApi } from './openapi';
import { API_ROUTES } from './routes';

/** The API version in the document: bumped when a route changes incompatibly. */
const API_VERSION = '1.0.0';

/** `GET /api/openapi.json`: public on purpose, like the pages (it describes routes, holds no secret). */
@Controller('api')
export class OpenApiController {
  private document?: string;

  @Get('openapi.json')
  @Header('content-type', 'application/json; charset=utf-8')
  @Header('cache-control', 'no-cache')
  get(): string {
    // Built once: the routes do not change while the process runs.
    this.document ??= JSON.stringify(buildOpenApi(API_ROUTES, API_VERSION));
    return this.document;
  }
}
