// Transitional: the engine fence still throws these; src/errors.ts is the one error type.
import { ERROR_KINDS, PosternError, type ErrorKind } from '../errors.ts';

export { badRequest, notFound } from '../errors.ts';

export class HttpError extends PosternError {
  constructor(status: number, code: string, description: string, headers: Record<string, string> = {}) {
    const kind = (Object.keys(ERROR_KINDS) as ErrorKind[]).find((k) => ERROR_KINDS[k].status === status && ERROR_KINDS[k].error === code);
    super(kind ?? 'bad_request', description, headers);
  }
}
