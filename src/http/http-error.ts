// The closed error taxonomy: every error a client can see is an HttpError with a status,
// a stable OAuth-style `error` code and a human-readable description. Anything else is
// internal: the client gets a reference id, the log gets the details.
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, description: string, headers: Record<string, string> = {}) {
    super(description);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.description = description;
    this.headers = headers;
  }
}

export const badRequest = (description: string) => new HttpError(400, 'invalid_request', description);
export const notFound = (description = 'Not found.') => new HttpError(404, 'not_found', description);
