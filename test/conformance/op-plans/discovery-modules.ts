// The discovery verification modules: the Config OP plan's one module, and the
// discovery checks that open the RP-Initiated Logout and Back-Channel Logout plans.
//
// The suite requires every endpoint to be https. The test server is http://localhost,
// so the equivalent here is that every endpoint lies under the issuer (same scheme and
// origin): the issuer is built from PUBLIC_URL, which must be https in production
// (Postern refuses to start otherwise; test/unit/config.test.ts).
import { expect } from 'chai';
import type { JSONWebKeySet } from 'jose';
import { expectMetadataTypes, expectValidJwks, unregisteredMetadata } from './checks.ts';
import type { Module, ModuleRun } from './module.ts';

const DISCOVERY_PATH = '/.well-known/openid-configuration';

async function discovery(run: ModuleRun): Promise<Record<string, unknown>> {
  const res = await fetch(`${run.rp.issuer}${DISCOVERY_PATH}`);
  expect(res.status, 'discovery status (Discovery §4)').to.equal(200);
  expect(res.headers.get('content-type'), 'discovery content type').to.include('application/json');
  return (await res.json()) as Record<string, unknown>;
}

function expectEndpointsUnderIssuer(metadata: Record<string, unknown>): void {
  const issuer = String(metadata.issuer);
  for (const [name, value] of Object.entries(metadata)) {
    if (name === 'jwks_uri' || name.endsWith('_endpoint')) expect(String(value).startsWith(`${issuer}/`), `${name} under the issuer`).to.equal(true);
  }
}

/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** BCP 47 language tags, loosely: the suite's syntax check. */
const LANGUAGE_TAG = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

export const CONFIG_MODULES: readonly Module[] = [
  {
    name: 'oidcc-discovery-endpoint-verification',
    async run(run) {
      const metadata = await discovery(run);
      const issuer = metadata.issuer;
      expect(issuer, 'issuer is where discovery was fetched (Discovery §4.3)').to.equal(run.rp.issuer);
      const parsed = new URL(String(issuer));
      expect(parsed.search + parsed.hash, 'issuer has no query or fragment (RFC 8414 §2)').to.equal('');
      expectMetadataTypes(metadata);
      const unknown = unregisteredMetadata(metadata);
      if (unknown.length) run.warn(`metadata the suite does not know: ${unknown.join(', ')}`);
      expect(metadata.response_types_supported, 'response_types_supported').to.include('code');
      expect(metadata.subject_types_supported, 'subject_types_supported').to.satisfy((v: string[]) => v.includes('public') || v.includes('pairwise'));
      expect(metadata.id_token_signing_alg_values_supported, 'RS256 is required (Core §15.1)').to.include('RS256');
      for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) expect(metadata[name], name).to.be.a('string');
      if (metadata.userinfo_endpoint === undefined) run.warn('no userinfo_endpoint (RECOMMENDED)');
      const requestObjectAlgs = metadata.request_object_signing_alg_values_supported as string[] | undefined;
      if (requestObjectAlgs && !requestObjectAlgs.includes('RS256')) run.warn('request_object_signing_alg_values_supported without RS256');
      if (metadata.claims_supported === undefined) run.warn('no claims_supported (RECOMMENDED)');
      const grants = metadata.grant_types_supported as string[] | undefined;
      if (grants !== undefined) expect(grants, 'grant_types_supported').not.to.be.empty;
      const scopes = metadata.scopes_supported as string[] | undefined;
      if (scopes === undefined) run.warn('no scopes_supported (RECOMMENDED)');
      else {
        expect(scopes, 'scopes_supported').to.include('openid');
        for (const scope of scopes) expect(SCOPE_TOKEN.test(scope), `scope syntax: ${scope}`).to.equal(true);
      }
      for (const name of ['ui_locales_supported', 'claims_locales_supported']) {
        for (const tag of (metadata[name] as string[] | undefined) ?? []) expect(LANGUAGE_TAG.test(tag), `${name}: ${tag}`).to.equal(true);
      }
      if (metadata.code_challenge_methods_supported !== undefined) expect(metadata.code_challenge_methods_supported).to.be.an('array');
      expectEndpointsUnderIssuer(metadata);
      const jwks = await fetch(String(metadata.jwks_uri));
      expect(jwks.status, 'jwks_uri').to.equal(200);
      expectValidJwks((await jwks.json()) as JSONWebKeySet);
    },
  },
];

export const RP_LOGOUT_DISCOVERY: Module = {
  name: 'oidcc-rp-initiated-logout-discovery-endpoint-verification',
  async run(run) {
    const metadata = await discovery(run);
    expectEndpointsUnderIssuer(metadata);
    expect(metadata.end_session_endpoint, 'end_session_endpoint (RP-Initiated Logout §2.1)').to.be.a('string');
  },
};

export const BACKCHANNEL_DISCOVERY: Module = {
  name: 'oidcc-backchannel-logout-discovery-endpoint-verification',
  async run(run) {
    const metadata = await discovery(run);
    expectEndpointsUnderIssuer(metadata);
    expect(metadata.backchannel_logout_supported, 'backchannel_logout_supported (Back-Channel Logout §2.1)').to.equal(true);
    // Optional in the spec; required for certification: sid in ID and logout tokens.
    expect(metadata.backchannel_logout_session_supported, 'backchannel_logout_session_supported').to.equal(true);
    expect(metadata.end_session_endpoint, 'end_session_endpoint').to.be.a('string');
  },
};
