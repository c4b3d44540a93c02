import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { DashError, type ErrorBody, type ErrorCode } from '@dash/domain';
import type { FastifyError, FastifyReply } from 'fastify';
import { lingerBeforeClose } from './linger';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'backlog_full',
  503: 'unavailable',
};

const logger = new Logger('Http');
/** SQLSTATE query_canceled: a statement stopped by statement_timeout. */
const QUERY_CANCELED = '57014';
const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect';
const READ_RETRY_AFTER_SECONDS = 2;

/** Every failure as `{"error": code, "message": text}` with the right status. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
  if (error instanceof DashError) return { status: error.status, body: error.toBody(), retryAfter: error.retryAfterSeconds };
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const message = typeof response === 'string' ? response : ((response as { message?: unknown }).message ?? error.message);
    return { status, body: { error: CODE_BY_STATUS[status] ?? (status < 500 ? 'invalid_request' : 'internal_error'), message: withoutQuery(String(message)) } };
  }
  // Fastify's own errors (body parsing, limits, bad headers) carry a 4xx statusCode.
  const fastify = error as Partial<FastifyError>;
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    const status = fastify.statusCode;
    let code: ErrorCode = CODE_BY_STATUS[status] ?? 'invalid_request';
    if (fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') code = 'unsupported_media_type';
    if (fastify.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') code = 'invalid_json';
    return { status, body: { error: code, message: fastify.message ?? 'bad request' } };
  }
  // PostgreSQL cancelled a read that ran past READ_TIMEOUT_MS, or no connection of the read pool came
  // free in that time (pg-pool's message): the server is busy, not the request wrong.
  if ((error as { code?: unknown }).code === QUERY_CANCELED || (error as Error | undefined)?.message === POOL_WAIT_TIMEOUT) {
    return { status: 503, body: { error: 'unavailable', message: 'the read took too long and was cancelled; retry later, or ask for less (a smaller limit or range)' }, retryAfter: READ_RETRY_AFTER_SECONDS };
  }
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return { status: 500, body: { error: 'internal_error', message: 'internal error' } };
}

/**
 * The router's "Cannot GET /path?token=…" without its query string: a URL's query can carry a
 * token (share links do), and an answer must never echo a secret back.
 */
function withoutQuery(message: string): string {
  return message.replace(/(\/[^\s?#]*)[?#]\S*/g, '$1');
}

export function sendError(reply: FastifyReply, error: unknown): void {
  const { status, body, retryAfter } = toErrorResponse(error);
  // A body refused for its size may still be on its way: let the sender finish and read the answer.
  if (status === 413) lingerBeforeClose(reply.raw.req);
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  void reply.status(status).send(body);
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    sendError(host.switchToHttp().getResponse<FastifyReply>(), error);
  }
}
