// The admin API's OpenAPI document: valid OpenAPI 3.1 (a real validator), the same routes
// as the routers (read from the routers, so a new route without a description fails),
// served behind the admin token, kept in docs/openapi.json, and a checker that refuses
// responses the document does not describe (the suite runs it on every admin response,
// test/helpers/admin-responses.ts).
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CREATE_FIELDS, UPDATE_FIELDS } from '../../src/admin/app-input.ts';
import { adminOpenApi, OPENAPI_DOC } from '../../src/admin/openapi.ts';
import { ADMIN_API_DOC, endpointsTable, withEndpointsTable } from '../../src/admin/openapi-docs.ts';
import { disagreements, DOCUMENTED_HEADERS, type AdminResponse } from '../helpers/admin-responses.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { routesOf } from '../helpers/routes.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** A real answer of the server, as the recorder would have kept it. */
async function answer(h: Harness, method: string, path: string, body?: unknown, token?: string): Promise<AdminResponse> {
  const res = await h.admin(method, path, body, token);
  const headers = Object.fromEntries([...res.headers].filter(([name]) => DOCUMENTED_HEADERS.includes(name)));
  return { method, path, status: res.status, body: res.body, headers, test: 'admin-openapi' };
}

describe('admin API OpenAPI document', () => {
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await h.start({}, { adminAuthFailuresPerIp: 100_000 });
    app = await h.createApp({ name: 'Documented App' });
  });
  after(() => h.stop());

  it('is served at /admin/openapi.json to the admin, and is valid OpenAPI 3.1', async () => {
    const res = await h.admin('GET', '/admin/openapi.json');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    expect(res.body).to.deep.equal(JSON.parse(JSON.stringify(adminOpenApi())));
    const validator = new Validator();
    const result = await validator.validate(res.body);
    expect(result, JSON.stringify(result.errors)).to.deep.equal({ valid: true });
    expect(validator.version).to.equal('3.1');
  });

  it('is refused without the token, and with another spelling of its path', async () => {
    for (const path of ['/admin/openapi.json', '/ADMIN/openapi.json', '/admin/OpenAPI.json', '/%61dmin/openapi.json', '/admin//openapi.json']) {
      const res = await h.admin('GET', path, undefined, '');
      expect(res.status, path).to.equal(401);
      expect(res.headers.get('www-authenticate'), path).to.equal('Bearer realm="postern-admin"');
      expect(JSON.stringify(res.body), path).not.to.include('openapi');
    }
    expect((await h.admin('GET', '/admin/openapi.json', undefined, 'wrong-token')).status).to.equal(401);
  });

  it('is kept in docs/openapi.json as the server serves it (npm run docs:openapi)', () => {
    const kept = readFileSync(OPENAPI_DOC, 'utf8');
    expect(kept, 'docs/openapi.json is stale: run npm run docs:openapi').to.equal(`${JSON.stringify(adminOpenApi(), null, 2)}\n`);
  });

  it('lists every operation in docs/admin-api.md, from the document (npm run docs:openapi)', () => {
    const page = readFileSync(ADMIN_API_DOC, 'utf8');
    expect(page, 'docs/admin-api.md is stale: run npm run docs:openapi').to.equal(withEndpointsTable(page));
    expect(endpointsTable()).to.include('| `POST /admin/apps/{id}/sign-outs` | Sign an account out of the app | 200 | 400, 404, 413, 415 |');
  });

  it('describes exactly the routes every router declares under /admin', () => {
    const declared = Object.values(h.server.routers)
      .flatMap(routesOf)
      .filter((route) => route.path === '/admin' || route.path.startsWith('/admin/'))
      // @koa/router adds HEAD to every GET route (the document's GET covers it), and answers
      // OPTIONS for every path it knows (documented for each path).
      .flatMap((route) => [...route.methods.filter((m) => m !== 'HEAD'), 'OPTIONS'].map((m) => `${m} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`));
    const documented = Object.entries(adminOpenApi().paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(declared).to.have.length.greaterThan(8);
    expect([...new Set(declared)].sort()).to.deep.equal([...documented].sort());
  });

  it('describes exactly the fields the create and update parsers accept', () => {
    const { CreateApp, UpdateApp } = adminOpenApi().components.schemas;
    expect(Object.keys(CreateApp.properties).sort()).to.deep.equal([...CREATE_FIELDS].sort());
    expect(Object.keys(UpdateApp.properties).sort()).to.deep.equal([...UPDATE_FIELDS].sort());
    expect(CreateApp.required).to.deep.equal(['name', 'redirect_uris']);
  });

  it('lets null through for every field of a client PATCH, as the API takes it to remove the field', () => {
    const doc = adminOpenApi();
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema(doc, 'doc');
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/ClientChanges' });
    const fields = Object.keys(doc.components.schemas.ClientChanges.properties);
    expect(fields).to.include('token_endpoint_auth_method');
    for (const field of fields) expect(validate({ [field]: null }), `${field}: null`).to.equal(true);
    expect(validate({ token_endpoint_auth_method: 'something else' })).to.equal(false);
  });

  it('lists the bearer scheme for every operation', () => {
    const doc = adminOpenApi();
    expect(doc.components.securitySchemes.adminToken).to.include({ type: 'http', scheme: 'bearer' });
    expect(doc.security).to.deep.equal([{ adminToken: [] }]);
  });

  describe('the response check the suite runs', () => {
    it('accepts real answers: success, errors, 405 for a method a path lacks', async () => {
      const answers = [
        await answer(h, 'GET', '/admin/apps'),
        await answer(h, 'GET', `/admin/apps/${app.app_id}`),
        await answer(h, 'GET', `/admin/apps/${app.app_id}/audit?limit=1`),
        await answer(h, 'POST', '/admin/apps', { name: 'x', redirect_uris: ['ftp://x'] }),
        await answer(h, 'POST', '/admin/apps', 'not json'),
        await answer(h, 'GET', '/admin/apps/5d0c1f7e-3b2a-4c9d-8e7f-0a1b2c3d4e5f'),
        await answer(h, 'PUT', '/admin/apps', {}),
        await answer(h, 'GET', '/admin/apps', undefined, 'wrong'),
        await answer(h, 'OPTIONS', `/admin/apps/${app.app_id}`),
      ];
      expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200, 400, 400, 404, 405, 401, 200]);
      expect(answers.at(-1)!.headers.allow).to.equal('HEAD, GET, PATCH, DELETE');
      expect(disagreements(answers)).to.deep.equal([]);
    });

    it('refuses a body the schema does not allow', async () => {
      const doc = adminOpenApi();
      (doc.components.schemas.App.required as string[]).push('favourite_colour');
      const problems = disagreements([await answer(h, 'GET', `/admin/apps/${app.app_id}`)], doc);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include('favourite_colour');
    });

    it('refuses a field the document does not know (additionalProperties: false)', async () => {
      const doc = adminOpenApi();
      delete (doc.components.schemas.App.properties as Record<string, unknown>).warnings;
      expect(disagreements([await answer(h, 'GET', `/admin/apps/${app.app_id}`)], doc)[0]).to.include('warnings');
    });

    it('refuses a status the operation does not list', async () => {
      const doc = adminOpenApi();
      delete (doc.paths['/admin/apps/{id}'].get.responses as Record<string, unknown>)['404'];
      const problems = disagreements([await answer(h, 'GET', '/admin/apps/5d0c1f7e-3b2a-4c9d-8e7f-0a1b2c3d4e5f')], doc);
      expect(problems[0]).to.include('404 is not a documented response of GET /admin/apps/{id}');
      expect(disagreements([{ method: 'GET', path: '/admin/apps', status: 418, body: {}, headers: {}, test: 't' }])).to.have.length(1);
    });

    it('refuses a documented header that is missing, and an error code of another status', async () => {
      const unauthorized = await answer(h, 'GET', '/admin/apps', undefined, 'wrong');
      expect(disagreements([{ ...unauthorized, headers: {} }])[0]).to.include('WWW-Authenticate');
      expect(disagreements([{ ...unauthorized, body: { error: 'not_found', error_description: 'x' } }])[0]).to.include('allowed values');
    });
  });
});
