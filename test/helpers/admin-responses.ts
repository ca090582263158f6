// Every admin response any test receives, checked against the OpenAPI document: a
// recorder the harness puts in front of the server under test (never in production
// code), and a root `after` hook that validates what was recorded once the run (or the
// files run) is over. A response whose status the document does not list for its
// operation fails the run, as does a body its schema refuses or a documented header
// that is missing. So the document cannot drift from what the server answers.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type Koa from 'koa';
import { adminOpenApi } from '../../src/admin/openapi.ts';
import { isCanonicalPath } from '../../src/http/request-path.ts';

export interface AdminResponse {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /** The test that made the request, for the failure message. */
  readonly test: string;
}

type Doc = ReturnType<typeof adminOpenApi>;
interface Response {
  readonly description: string;
  readonly headers?: Record<string, unknown>;
  readonly content?: { 'application/json': { schema: unknown } };
}

const DOC_ID = 'admin-openapi';
/** Headers a documented response can require (and the only ones the check reads). */
export const DOCUMENTED_HEADERS = ['www-authenticate', 'retry-after', 'location', 'allow', 'etag'];

const recorded: AdminResponse[] = [];
/** The test last started: requests made in a `before` hook count towards the one before it. */
let currentTest = '(before the first test)';

/** Puts the recorder in front of `app`'s middleware; call before `app.callback()`. */
export function recordAdminResponses(app: Koa): void {
  app.middleware.unshift(async (ctx, next) => {
    const test = currentTest;
    await next();
    if (!ctx.path.startsWith('/admin')) return;
    const headers = Object.fromEntries(DOCUMENTED_HEADERS.flatMap((name) => (ctx.response.get(name) ? [[name, ctx.response.get(name)]] : [])));
    // The body as the client will parse it (Koa sends objects as JSON).
    const body = ctx.body === undefined || ctx.body === null || ctx.body === '' ? undefined : JSON.parse(JSON.stringify(ctx.body));
    recorded.push({ method: ctx.method, path: ctx.path, status: ctx.status, body, headers, test });
  });
}

/** A path item: operations by method (and `parameters`, which has no responses). */
type PathItem = Record<string, { responses?: Record<string, unknown> } | undefined>;

const escape = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/** Checks recorded responses against one document; the formats it uses, checked for real. */
export function responseChecker(doc: Doc = adminOpenApi()) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)));
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addFormat('email', (s: string) => /^[^\s@]+@[^\s@]+$/.test(s));
  ajv.addSchema(doc as object, DOC_ID);
  const paths = doc.paths as unknown as Record<string, PathItem>;
  const templates = Object.keys(paths).map((template) => ({ template, pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));

  /** A response as the document states it, by JSON pointer, following one `$ref`. */
  function at(pointer: string): { response: Response; pointer: string } {
    const node = pointer.split('/').slice(1).reduce((n: any, part) => n?.[part.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
    return typeof node?.$ref === 'string' ? at(node.$ref.slice(1)) : { response: node as Response, pointer };
  }

  // One validator per documented response, compiled once: a run records thousands of
  // responses, and compiling each anew made this root hook take longer than its timeout.
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  function compiled(pointer: string) {
    let validate = validators.get(pointer);
    if (!validate) validators.set(pointer, (validate = ajv.compile({ $ref: `${DOC_ID}#${pointer}/content/application~1json/schema` })));
    return validate;
  }

  /** Where the document answers this request with this status, or why it does not. */
  function documented(method: string, template: string, status: number): string | { response: Response; pointer: string } {
    const item = paths[template]!;
    // @koa/router answers HEAD with the GET route, without a body.
    const name = method === 'HEAD' ? 'get' : method.toLowerCase();
    const operation = item[name]?.responses;
    if (operation) {
      return operation[status] ? at(`/paths/${escape(template)}/${name}/responses/${status}`) : `${status} is not a documented response of ${method} ${template}`;
    }
    // A method the path does not have: 405 once the token passed, or an answer given
    // before any routing (the gate, overload), which every operation of the path lists.
    if (status === 405) return at('/components/responses/MethodNotAllowed');
    const shared = Object.keys(item).filter((op) => item[op]?.responses?.[status]);
    if (status >= 400 && shared.length === Object.keys(item).filter((op) => item[op]?.responses).length && shared[0]) {
      return at(`/paths/${escape(template)}/${shared[0]}/responses/${status}`);
    }
    return `${method} is not an operation of ${template}, and ${status} is not an answer every operation of the path gives`;
  }

  /** Why `r` disagrees with the document; undefined when it agrees or its path is no route. */
  return function check(r: AdminResponse): string | undefined {
    // Another spelling of a path (refused before routing: 401, or 404 with the token) or an
    // unknown path is no route of the document.
    const match = isCanonicalPath(r.path) ? templates.find(({ pattern }) => pattern.test(r.path)) : undefined;
    if (!match) return undefined;
    const found = documented(r.method, match.template, r.status);
    if (typeof found === 'string') return found;
    for (const header of Object.keys(found.response.headers ?? {})) {
      if (!r.headers[header.toLowerCase()]) return `${r.status} lacks the documented ${header} header`;
    }
    if (r.method === 'HEAD') return undefined;
    if (!found.response.content) return r.body === undefined ? undefined : `${r.status} has a body where the document has none`;
    const validate = compiled(found.pointer);
    if (validate(r.body)) return undefined;
    return `body refused: ${(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`).join('; ')}`;
  };
}

/** Every recorded response the document disagrees with, with the test that received it. */
export function disagreements(responses: readonly AdminResponse[] = recorded, doc?: Doc): string[] {
  const check = responseChecker(doc);
  return responses.flatMap((r) => {
    const problem = check(r);
    return problem ? [`${r.method} ${r.path} → ${r.status} (${r.test}): ${problem}`] : [];
  });
}

// Root hooks, registered once by whichever test file imports the harness first (outside
// mocha, e.g. in bench scripts, there are none).
if (typeof after === 'function') {
  beforeEach(function () {
    currentTest = this.currentTest?.fullTitle() ?? currentTest;
  });
  after(function () {
    const problems = disagreements();
    if (problems.length > 0) {
      throw new Error(`${problems.length} admin responses disagree with the OpenAPI document (src/admin/openapi.ts):\n${problems.slice(0, 30).join('\n')}`);
    }
  });
}
