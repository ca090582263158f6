// The closed set of errors a caller can see. Services and routes throw a PosternError of
// one of these kinds; the HTTP error handler answers with the kind's status and OAuth
// error code, and the description as written. Anything that is not a PosternError is
// internal: the caller gets a reference id, the log gets the details.

/** Each kind with its HTTP status and the OAuth-style `error` code on the wire. */
export const ERROR_KINDS = {
  bad_request: { status: 400, error: 'invalid_request' },
  invalid_client_metadata: { status: 400, error: 'invalid_client_metadata' },
  invalid_redirect_uri: { status: 400, error: 'invalid_redirect_uri' },
  unauthenticated: { status: 401, error: 'invalid_token' },
  invalid_client: { status: 401, error: 'invalid_client' },
  not_found: { status: 404, error: 'not_found' },
  method_not_allowed: { status: 405, error: 'invalid_request' },
  conflict: { status: 409, error: 'conflict' },
  length_required: { status: 411, error: 'invalid_request' },
  precondition_failed: { status: 412, error: 'precondition_failed' },
  too_large: { status: 413, error: 'request_too_large' },
  url_too_long: { status: 414, error: 'invalid_request' },
  unsupported_media_type: { status: 415, error: 'invalid_request' },
  rate_limited: { status: 429, error: 'too_many_requests' },
  internal: { status: 500, error: 'server_error' },
  unavailable: { status: 503, error: 'temporarily_unavailable' },
} as const satisfies Record<string, { status: number; error: string }>;

export type ErrorKind = keyof typeof ERROR_KINDS;

export class PosternError extends Error {
  readonly kind: ErrorKind;
  readonly description: string;
  /** Response headers that belong to the answer (WWW-Authenticate, Retry-After, …). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(kind: ErrorKind, description: string, headers: Record<string, string> = {}) {
    super(description);
    this.name = 'PosternError';
    this.kind = kind;
    this.description = description;
    this.headers = headers;
  }

  get status(): number {
    return ERROR_KINDS[this.kind].status;
  }

  /** The OAuth-style `error` code. */
  get code(): string {
    return ERROR_KINDS[this.kind].error;
  }
}

export const badRequest = (description: string) => new PosternError('bad_request', description);
export const notFound = (description = 'Not found.') => new PosternError('not_found', description);
