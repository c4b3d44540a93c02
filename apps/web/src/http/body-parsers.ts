import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DashError, WEBHOOK_PREFIX } from '@dash/domain';

const API_MAX_BYTES = 1024 * 1024;

/**
 * Webhook bodies stay raw bytes (the signature covers them exactly; parsed once, after
 * verification). API bodies are JSON, parsed here with a JSON error code.
 */
export function registerBodyParsers(fastify: FastifyInstance, webhookMaxBytes: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    ['application/json', 'application/x-ndjson'],
    { parseAs: 'buffer', bodyLimit: Math.max(webhookMaxBytes, API_MAX_BYTES) },
    (request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: unknown) => void) => {
      if (request.url.startsWith(WEBHOOK_PREFIX)) {
        if (body.length > webhookMaxBytes) return done(new DashError(413, 'payload_too_large', `the body is larger than ${webhookMaxBytes} bytes`));
        return done(null, body);
      }
      if (body.length > API_MAX_BYTES) return done(new DashError(413, 'payload_too_large', `the body is larger than ${API_MAX_BYTES} bytes`));
      if (body.length === 0) return done(null, undefined);
      try {
        done(null, JSON.parse(body.toString('utf8')));
      } catch (error) {
        done(new DashError(400, 'invalid_json', `the body is not valid JSON: ${(error as Error).message}`));
      }
    },
  );
}
