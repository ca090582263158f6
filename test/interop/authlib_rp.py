#!/usr/bin/env python3
"""A relying party built on Authlib alone, as a Python web app would use it.

It knows what any provider's app is given -- issuer URL, client_id, client_secret (empty
for a public app), redirect URI, post-logout redirect URI, from the environment -- and
learns everything else from discovery. It is driven one step at a time: a command per
line on stdin (authorize, callback URL, refresh, logout, logged_out URL), one JSON answer
per line on stdout; any failure is a traceback on stderr and a non-zero exit.

ID tokens are validated the way Authlib's own web-framework clients do it
(authlib.integrations.base_client.sync_openid.parse_id_token): the algorithms the
provider's discovery lists, keys from its jwks_uri, and CodeIDToken's checks (iss, aud,
exp, iat, nonce, at_hash).
"""
import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken

ISSUER = os.environ['ISSUER']
CLIENT_ID = os.environ['CLIENT_ID']
CLIENT_SECRET = os.environ.get('CLIENT_SECRET') or None
REDIRECT_URI = os.environ['REDIRECT_URI']
POST_LOGOUT_REDIRECT_URI = os.environ['POST_LOGOUT_REDIRECT_URI']

session = OAuth2Session(
    CLIENT_ID,
    CLIENT_SECRET,
    scope='openid email offline_access',
    redirect_uri=REDIRECT_URI,
    code_challenge_method='S256',
    token_endpoint_auth_method='client_secret_basic' if CLIENT_SECRET else 'none',
)

metadata = session.get(ISSUER + '/.well-known/openid-configuration', withhold_token=True).json()
if metadata['issuer'] != ISSUER:
    sys.exit('discovery names another issuer: %r' % metadata['issuer'])
jwks = JsonWebKey.import_key_set(session.get(metadata['jwks_uri'], withhold_token=True).json())
id_token_jwt = JsonWebToken(metadata.get('id_token_signing_alg_values_supported') or ['RS256'])

# What one sign-in remembers between its steps (a web app keeps it in its session).
pending = {}
signed_in = {}


def validate_id_token(token, nonce):
    claims = id_token_jwt.decode(
        token['id_token'],
        key=jwks,
        claims_cls=CodeIDToken,
        claims_options={'iss': {'values': [ISSUER]}},
        claims_params={'nonce': nonce, 'client_id': CLIENT_ID, 'access_token': token['access_token']},
    )
    claims.validate(leeway=120)
    return dict(claims)


def authorize(_):
    pending['code_verifier'] = generate_token(48)
    pending['nonce'] = generate_token(20)
    url, pending['state'] = session.create_authorization_url(
        metadata['authorization_endpoint'], code_verifier=pending['code_verifier'], nonce=pending['nonce'])
    return {'url': url}


def callback(url):
    # fetch_token checks the state and sends the code with the PKCE verifier.
    token = session.fetch_token(
        metadata['token_endpoint'], authorization_response=url,
        state=pending['state'], code_verifier=pending['code_verifier'])
    claims = validate_id_token(token, pending['nonce'])
    userinfo = session.get(metadata['userinfo_endpoint']).json()
    signed_in.update(token=token, claims=claims)
    return {'id_token': token['id_token'], 'claims': claims, 'userinfo': userinfo}


def refresh(_):
    token = session.refresh_token(metadata['token_endpoint'], refresh_token=signed_in['token']['refresh_token'])
    claims = validate_id_token(token, None)
    # OpenID Connect Core 12.2: the same person, the same authentication.
    for name in ('iss', 'sub', 'aud', 'auth_time'):
        if claims.get(name) != signed_in['claims'].get(name):
            sys.exit('refreshed ID token changed %s' % name)
    signed_in.update(token=token, claims=claims)
    return {'id_token': token['id_token'], 'claims': claims}


def logout(_):
    pending['logout_state'] = generate_token(20)
    url = add_params_to_uri(metadata['end_session_endpoint'], [
        ('id_token_hint', signed_in['token']['id_token']),
        ('post_logout_redirect_uri', POST_LOGOUT_REDIRECT_URI),
        ('state', pending['logout_state']),
    ])
    return {'url': url}


def logged_out(url):
    query = parse_qs(urlsplit(url).query)
    if not url.startswith(POST_LOGOUT_REDIRECT_URI) or query.get('state') != [pending['logout_state']]:
        sys.exit('unexpected post-logout redirect: %s' % url)
    signed_in.clear()
    return {'signed_out': True}


STEPS = {'authorize': authorize, 'callback': callback, 'refresh': refresh, 'logout': logout, 'logged_out': logged_out}

for line in sys.stdin:
    command, _, argument = line.strip().partition(' ')
    print(json.dumps(STEPS[command](argument)), flush=True)
