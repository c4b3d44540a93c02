/** Error codes of the public contract, as `{"error": code, "message": text}`. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_event'
  | 'invalid_request'
  | 'invalid_url'
  | 'private_address'
  | 'missing_signature'
  | 'invalid_signature'
  | 'timestamp_out_of_tolerance'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'pipeline_not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'backlog_full'
  | 'rate_limited'
  | 'unavailable'
  | 'internal_error';

export interface ErrorBody {
  error: ErrorCode;
  message: string;
}

/** A rejection with its HTTP status, raised by pure helpers and mapped to a response by the apps. */
export class DashError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DashError';
  }

  toBody(): ErrorBody {
    return { error: this.code, message: this.message };
  }
}
