// A bounded body reader for Postern's own routes (admin API, hosted forms, revoke_all).
// Deliberately not a global middleware: oidc-provider parses its own bodies (see
// engine-guard.ts for what is checked before a request reaches it).
//
// Every body is read strictly: at most `limit` bytes (413), valid UTF-8, valid
// percent-encoding in forms, no lone surrogates in JSON strings (400). Anything else
// never reaches validation, storage, mail or HTML.
//
// Where Postern must look at a body the engine reads next, `peekBody` and `replaceBody`
// read it and put the bytes back on the stream.
import type { Context } from 'koa';
import { badRequest, PosternError } from '../errors.ts';

export const BODY_LIMIT = 64 * 1024;

export const tooLarge = (limit: number) => new PosternError('too_large', `The request body is larger than ${limit} bytes.`);


/** The Content-Length a client declared, or undefined for none (chunked or no body). */
export function declaredLength(ctx: Context): number | undefined {
  const header = ctx.get('content-length');
  return header ? Number(header) : undefined;
}

/** Reads the raw body bytes, at most `limit`; a larger body is a 413. */
export async function readBytes(ctx: Context, limit: number): Promise<Buffer> {
  if ((declaredLength(ctx) ?? 0) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false keeps the socket when we stop early, so the 413 reaches the client.
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) break;
    chunks.push(chunk);
  }
  if (size > limit) {
    ctx.req.resume(); // discard the rest instead of leaving the client stuck mid-upload
    throw tooLarge(limit);
  }
  return Buffer.concat(chunks, size);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw badRequest('The request body is not valid UTF-8.');
  }
}

async function readText(ctx: Context, limit: number): Promise<string> {
  return decodeUtf8(await readBytes(ctx, limit));
}

/** True when every string (and key) in a parsed JSON value is well-formed Unicode. */
function wellFormed(value: unknown): boolean {
  // Iterative: a body of 64 KiB can nest 30 000 levels deep.
  const stack: unknown[] = [value];
  while (stack.length) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return false;
    } else if (Array.isArray(item)) {
      for (const inner of item) stack.push(inner);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, inner] of Object.entries(item)) {
        if (!key.isWellFormed()) return false;
        stack.push(inner);
      }
    }
  }
  return true;
}

/** Whether the request carries a body: a declared length above zero, or a chunked one. */
export function hasBody(ctx: Context): boolean {
  return (declaredLength(ctx) ?? 0) > 0 || !!ctx.get('transfer-encoding');
}

export async function readJson(ctx: Context, limit = BODY_LIMIT): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new PosternError('unsupported_media_type', 'Send the request body as application/json.');
  }
  const text = await readText(ctx, limit);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (!wellFormed(value)) throw badRequest('The request body contains invalid Unicode (a lone surrogate).');
  return value;
}

/** Decodes one form-urlencoded name or value; bad percent-encoding or UTF-8 is an error. */
function formDecode(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw badRequest('The form is not properly encoded (invalid percent-encoding or UTF-8).');
  }
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

function requireFormType(ctx: Context): void {
  if (!ctx.is(FORM_TYPE)) throw new PosternError('unsupported_media_type', `Send the form as ${FORM_TYPE}.`);
}

/** Parses application/x-www-form-urlencoded; a repeated field is an error, not an array. */
export async function readForm(ctx: Context, limit = BODY_LIMIT): Promise<Record<string, string>> {
  requireFormType(ctx);
  const text = await readText(ctx, limit);
  const form: Record<string, string> = Object.create(null);
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = formDecode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : formDecode(pair.slice(eq + 1));
    if (key in form) throw badRequest(`The field "${key.slice(0, 64)}" was sent more than once.`);
    form[key] = value;
  }
  return form;
}

/**
 * The form the engine reads next (`peekBody`), held to the rules of every Postern form:
 * its content type, valid UTF-8, valid percent-encoding (415/400). Repeated fields are
 * left for the engine to judge.
 */
export async function peekStrictForm(ctx: Context): Promise<URLSearchParams> {
  requireFormType(ctx);
  const text = decodeUtf8(await peekBody(ctx));
  for (const part of text.split(/[&=]/)) formDecode(part);
  return new URLSearchParams(text);
}

/**
 * The body of a request that passed `refuseUnreadableBody` (engine-guard.ts), for Postern to
 * look at before the engine reads it: read in full, then put back with the stream's own `unshift`, so
 * the engine still reads it from the stream. Must not be called for a body already read.
 */
export function peekBody(ctx: Context): Promise<Buffer> {
  // Several checks may look at one body (the auth method, then introspection of a JWT):
  // the stream is read once, later looks get the bytes it holds for the engine.
  return onStream.get(ctx.req) ?? replaceBody(ctx, (body) => body);
}

/** Per request, the bytes put back on its stream for the engine, while no one has read them yet. */
const onStream = new WeakMap<Context['req'], Promise<Buffer>>();

/**
 * Like `peekBody`, but what goes back for the engine to read is `replace`'s answer, and
 * Content-Length is set to its length (the engine reads exactly that many bytes). A
 * request without a body keeps none.
 */
export function replaceBody(ctx: Context, replace: (body: Buffer) => Buffer): Promise<Buffer> {
  const length = declaredLength(ctx) ?? 0;
  const req = ctx.req;
  if (length === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('readable', onReadable);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    // Paused-mode reads, stopping once every announced byte is in: the stream has not yet
    // emitted 'end' (it cannot while the bytes are back in its buffer), so unshift is allowed.
    const onReadable = () => {
      for (let chunk: Buffer | null; size < length && (chunk = req.read() as Buffer | null) !== null; ) {
        chunks.push(chunk);
        size += chunk.length;
      }
      if (size < length) return;
      stop();
      const body = Buffer.concat(chunks, size);
      const replaced = replace(body);
      if (replaced !== body) req.headers['content-length'] = String(replaced.length);
      req.unshift(replaced);
      onStream.set(req, Promise.resolve(replaced));
      resolve(body);
    };
    const onEnd = () => {
      stop();
      reject(new PosternError('bad_request', 'The request body is shorter than its Content-Length.'));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    req.on('readable', onReadable);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
