// A relying party built on go-oidc (v2) and golang.org/x/oauth2 with their defaults, as
// go-oidc's own examples use them: oidc.NewProvider from the issuer URL (discovery), the
// provider's endpoints, and provider.Verifier(&oidc.Config{ClientID}), which accepts RS256
// ID tokens only.
//
// It knows what any provider's app is given (ISSUER, CLIENT_ID, CLIENT_SECRET,
// REDIRECT_URI, POST_LOGOUT_REDIRECT_URI from the environment) and is driven one step at a
// time: a command per line on stdin (authorize, callback URL, refresh, logout,
// logged_out URL), one JSON answer per line on stdout; any failure goes to stderr and
// exits non-zero.
//
// PKCE (RFC 7636, S256) is added with oauth2.SetAuthURLParam: the x/oauth2 that Debian
// ships predates its PKCE helpers (oauth2.GenerateVerifier, S256ChallengeOption), which
// send the same parameters.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log"
	"net/url"
	"os"
	"strings"

	"github.com/coreos/go-oidc"
	"golang.org/x/oauth2"
)

type claims map[string]interface{}

type app struct {
	ctx      context.Context
	provider *oidc.Provider
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier

	// What one sign-in remembers between its steps (a web app keeps it in its session).
	state, nonce, codeVerifier, logoutState string
	token                                   *oauth2.Token
	claims                                  claims
}

func random() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		log.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// verify checks the ID token in a token response (signature, iss, aud, exp) and the
// access token's at_hash, and returns its claims.
func (a *app) verify(token *oauth2.Token) (string, claims) {
	raw, ok := token.Extra("id_token").(string)
	if !ok {
		log.Fatal("no id_token in the token response")
	}
	idToken, err := a.verifier.Verify(a.ctx, raw)
	if err != nil {
		log.Fatalf("ID token: %v", err)
	}
	if err := idToken.VerifyAccessToken(token.AccessToken); err != nil {
		log.Fatalf("at_hash: %v", err)
	}
	var c claims
	if err := idToken.Claims(&c); err != nil {
		log.Fatal(err)
	}
	return raw, c
}

func (a *app) authorize(string) interface{} {
	a.state, a.nonce, a.codeVerifier = random(), random(), random()
	challenge := sha256.Sum256([]byte(a.codeVerifier))
	return map[string]string{"url": a.config.AuthCodeURL(a.state, oidc.Nonce(a.nonce),
		oauth2.SetAuthURLParam("code_challenge", base64.RawURLEncoding.EncodeToString(challenge[:])),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"))}
}

func (a *app) callback(callbackURL string) interface{} {
	u, err := url.Parse(callbackURL)
	if err != nil {
		log.Fatal(err)
	}
	query := u.Query()
	if query.Get("state") != a.state {
		log.Fatal("state did not match")
	}
	if e := query.Get("error"); e != "" {
		log.Fatalf("authorization error: %s %s", e, query.Get("error_description"))
	}
	a.token, err = a.config.Exchange(a.ctx, query.Get("code"), oauth2.SetAuthURLParam("code_verifier", a.codeVerifier))
	if err != nil {
		log.Fatalf("code exchange: %v", err)
	}
	raw, c := a.verify(a.token)
	if c["nonce"] != a.nonce {
		log.Fatal("nonce did not match")
	}
	info, err := a.provider.UserInfo(a.ctx, oauth2.StaticTokenSource(a.token))
	if err != nil {
		log.Fatalf("userinfo: %v", err)
	}
	var userinfo claims
	if err := info.Claims(&userinfo); err != nil {
		log.Fatal(err)
	}
	a.claims = c
	return map[string]interface{}{"id_token": raw, "claims": c, "userinfo": userinfo}
}

func (a *app) refresh(string) interface{} {
	token, err := a.config.TokenSource(a.ctx, &oauth2.Token{RefreshToken: a.token.RefreshToken}).Token()
	if err != nil {
		log.Fatalf("refresh: %v", err)
	}
	raw, c := a.verify(token)
	// OpenID Connect Core 12.2: the same person, the same authentication.
	for _, name := range []string{"iss", "sub", "auth_time"} {
		if c[name] != a.claims[name] {
			log.Fatalf("refreshed ID token changed %s", name)
		}
	}
	a.token, a.claims = token, c
	return map[string]interface{}{"id_token": raw, "claims": c}
}

func (a *app) logout(string) interface{} {
	// go-oidc has no logout helper: the endpoint comes from the same discovery document.
	var meta struct {
		EndSessionEndpoint string `json:"end_session_endpoint"`
	}
	if err := a.provider.Claims(&meta); err != nil || meta.EndSessionEndpoint == "" {
		log.Fatalf("no end_session_endpoint in discovery: %v", err)
	}
	a.logoutState = random()
	params := url.Values{
		"id_token_hint":            {a.token.Extra("id_token").(string)},
		"post_logout_redirect_uri": {os.Getenv("POST_LOGOUT_REDIRECT_URI")},
		"state":                    {a.logoutState},
	}
	return map[string]string{"url": meta.EndSessionEndpoint + "?" + params.Encode()}
}

func (a *app) loggedOut(landing string) interface{} {
	u, err := url.Parse(landing)
	if err != nil || !strings.HasPrefix(landing, os.Getenv("POST_LOGOUT_REDIRECT_URI")) || u.Query().Get("state") != a.logoutState {
		log.Fatalf("unexpected post-logout redirect: %s", landing)
	}
	a.token, a.claims = nil, nil
	return map[string]bool{"signed_out": true}
}

func main() {
	log.SetFlags(0)
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, os.Getenv("ISSUER"))
	if err != nil {
		log.Fatalf("discovery: %v", err)
	}
	a := &app{
		ctx:      ctx,
		provider: provider,
		config: oauth2.Config{
			ClientID:     os.Getenv("CLIENT_ID"),
			ClientSecret: os.Getenv("CLIENT_SECRET"),
			Endpoint:     provider.Endpoint(),
			RedirectURL:  os.Getenv("REDIRECT_URI"),
			Scopes:       []string{oidc.ScopeOpenID, "email", oidc.ScopeOfflineAccess},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: os.Getenv("CLIENT_ID")}),
	}
	steps := map[string]func(string) interface{}{
		"authorize": a.authorize, "callback": a.callback, "refresh": a.refresh, "logout": a.logout, "logged_out": a.loggedOut,
	}
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		command, argument, _ := strings.Cut(in.Text(), " ")
		step, ok := steps[command]
		if !ok {
			log.Fatalf("unknown command %q", command)
		}
		if err := out.Encode(step(argument)); err != nil {
			log.Fatal(err)
		}
	}
}
