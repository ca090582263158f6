// A bounded body reader for Postern's own routes (admin API, hosted forms, revoke_all).
// Deliberately not a global middleware: oidc-provider parses its own bodies.
import type { Context } from 'koa';
import { HttpError } from './http-error.ts';

export const BODY_LIMIT = 64 * 1024;

async function readRaw(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new HttpError(413, 'request_too_large', `The request body is larger than ${limit} bytes.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'request_too_large', `The request body is larger than ${limit} bytes.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\uFFFD')) throw new HttpError(400, 'invalid_request', 'The request body is not valid UTF-8.');
  return text;
}

export async function readJson(ctx: Context, limit = BODY_LIMIT): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new HttpError(415, 'invalid_request', 'Send the request body as application/json.');
  }
  const text = await readRaw(ctx, limit);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_request', 'The request body is not valid JSON.');
  }
}

/** Parses application/x-www-form-urlencoded; a repeated field is an error, not an array. */
export async function readForm(ctx: Context, limit = BODY_LIMIT): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new HttpError(415, 'invalid_request', 'Send the form as application/x-www-form-urlencoded.');
  }
  const params = new URLSearchParams(await readRaw(ctx, limit));
  const form: Record<string, string> = Object.create(null);
  for (const [key, value] of params) {
    if (key in form) throw new HttpError(400, 'invalid_request', `The field "${key}" was sent more than once.`);
    form[key] = value;
  }
  return form;
}
