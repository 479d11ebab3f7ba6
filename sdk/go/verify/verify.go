// Package verify checks micro-user's access tokens inside your own service, without
// calling micro-user for each request, and enforces its access rules in a net/http
// middleware.
//
// Access tokens are JWTs that micro-user signs (EdDSA by default, or ES256 or RS256);
// its public keys are published at /.well-known/jwks.json. A [Verifier] fetches them,
// keeps them, and checks tokens locally:
//
//	verifier := verify.NewVerifier(verify.WithAddress("http://localhost:8080"))
//	claims, err := verifier.Verify(ctx, token)
//	if errors.Is(err, verify.ErrInvalidToken) { ... } // 401
//	fmt.Println(claims.Subject, claims.Namespace, claims.Scopes)
//
// [Middleware] does that for each request, maps the request to a resource, and decides
// with the namespace's rules (fetched with Rules.List, plus the built-in ones), as the
// server would:
//
//	handler := verify.Middleware(mux, verify.WithServiceName("orders"), verify.WithAPIKey(key))
//
// Revocations are learnt from the server: for each issuer (namespace) it sees, a
// Verifier fetches /.well-known/revocations?iss=<issuer> (the token ids, session handles
// and deleted accounts whose tokens are revoked), keeps it for the max-age of its
// Cache-Control, and refuses the tokens it lists. A token revoked at the server can
// still pass here for up to that max-age (the server's MICRO_USER_AUTH_REFRESH_SECONDS)
// plus the server's own refresh interval. Only access tokens are accepted; API keys and session ids are checked by the
// server (auth.AuthService.Verify, or its /auth/forward endpoint).
package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/rules"
)

// JWKSPath is where micro-user publishes the public keys of its access tokens.
const JWKSPath = "/.well-known/jwks.json"

// RevocationsPath is where micro-user publishes what is revoked, per issuer
// (?iss=<the token's iss>): {"iss", "jti": [...], "sid": [...], "sub": [...]}.
const RevocationsPath = "/.well-known/revocations"

// algorithms are the signature algorithms accepted: EdDSA (Ed25519), ES256 and RS256.
// A key's own "alg" decides which one its tokens must use.
var algorithms = []string{"EdDSA", "ES256", "RS256"}

// Defaults of the options.
const (
	DefaultKeysTTL   = 5 * time.Minute
	DefaultRulesTTL  = 2 * time.Second
	DefaultTimeout   = 5 * time.Second
	DefaultNamespace = "micro"
	// UnknownKeyInterval is how often one unknown key id may make the keys be fetched
	// again.
	UnknownKeyInterval = 10 * time.Second
	// MinFetchInterval is how often the server is asked for the same thing at most,
	// whatever the reason.
	MinFetchInterval = time.Second
	// DefaultRevocationsTTL is how long a revocations document is kept when the server
	// gives it no max-age; a max-age below MinFetchInterval counts as that.
	DefaultRevocationsTTL = 5 * time.Second
)

const (
	jwksBodyMax        = 1 << 20
	revocationsBodyMax = 16 << 20
	triedKidsLimit     = 1024
	issuersLimit       = 1024
)

var (
	// ErrInvalidToken is wrapped by every error about the token itself: malformed,
	// forged, expired, signed by a key the server does not publish, or with the wrong
	// algorithm. Answer it with 401.
	ErrInvalidToken = errors.New("invalid token")
	// ErrExpired is the error of an expired token; it wraps ErrInvalidToken.
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
	// ErrUnavailable is wrapped by the error returned when micro-user could not be
	// asked (for its keys, or its rules) and no earlier answer is kept. Answer it with
	// 503: the token may be good.
	ErrUnavailable = errors.New("micro-user could not be asked")
)

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// Claims is what a valid access token says.
type Claims struct {
	// Subject is the account's id (the "sub" claim).
	Subject string
	// Issuer is the URL of the account's namespace at micro-user (the "iss" claim);
	// its discovery document is under it.
	Issuer string
	// Namespace is the account's namespace (the "namespace" claim; tokens of before
	// issuers were URLs carried it as "iss").
	Namespace string
	// Type is the account's type: "user" or "service".
	Type string
	// Scopes are the roles the account held when the token was issued.
	Scopes []string
	// Expiry is when the token expires.
	Expiry time.Time
	// IssuedAt is when it was issued (zero when the token does not say).
	IssuedAt time.Time
	// ID is the token's unique id (the "jti" claim).
	ID string
	// SessionID is the public handle of the login session the token was minted from
	// (the "sid" claim); empty for client-credentials tokens. Not the session id.
	SessionID string
}

// RuleSubject is the account as rule evaluation sees it.
func (c *Claims) RuleSubject() *rules.Subject {
	return &rules.Subject{Namespace: c.Namespace, Scopes: c.Scopes}
}

// Option configures a [Verifier] ([NewVerifier]) or a [Middleware]. Each says which
// of the two it is for; NewVerifier ignores those of the middleware.
type Option func(*config)

type config struct {
	address     string
	addressSet  bool
	key         string
	keySet      bool
	httpClient  *http.Client
	now         func() time.Time
	keysTTL     time.Duration
	rulesTTL    time.Duration
	timeout     time.Duration
	errorLog    *log.Logger
	verifier    *Verifier
	service     string
	namespace   string
	mapper      func(*http.Request) rules.Resource
	publicPaths []string
}

func newConfig(opts []Option) *config {
	c := &config{
		now:       time.Now,
		keysTTL:   DefaultKeysTTL,
		rulesTTL:  DefaultRulesTTL,
		timeout:   DefaultTimeout,
		namespace: DefaultNamespace,
	}
	for _, opt := range opts {
		opt(c)
	}
	if !c.addressSet {
		c.address = os.Getenv(microuser.AddressEnv)
	}
	if c.address == "" {
		c.address = microuser.DefaultAddress
	}
	c.address = strings.TrimRight(c.address, "/")
	if !c.keySet {
		c.key = os.Getenv(microuser.TokenEnv)
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{}
	}
	if c.errorLog == nil {
		c.errorLog = log.Default()
	}
	return c
}

// WithAddress sets micro-user's base address (verifier and middleware). The default is
// $MICRO_USER_ADDRESS, else http://localhost:8080.
func WithAddress(address string) Option {
	return func(c *config) { c.address, c.addressSet = address, true }
}

// WithHTTPClient sends the requests to micro-user with hc (verifier and middleware):
// proxies, TLS, a stand-in transport in tests. Each request is bounded by
// [WithTimeout] too.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithClock makes now the clock that expiry and the caches go by (verifier and
// middleware): a fixed time in tests. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithKeysTTL sets how long the keys are kept before they are fetched again (verifier
// and middleware; default [DefaultKeysTTL]). A token naming a key not seen yet makes
// them be fetched at once (at most once per [UnknownKeyInterval] per key id).
func WithKeysTTL(ttl time.Duration) Option {
	return func(c *config) {
		if ttl > 0 {
			c.keysTTL = ttl
		}
	}
}

// WithTimeout bounds each request to micro-user (verifier and middleware; default
// [DefaultTimeout]).
func WithTimeout(timeout time.Duration) Option {
	return func(c *config) { c.timeout = timeout }
}

// WithErrorLog is where failed refreshes of the keys and rules are logged (verifier
// and middleware). The default is log.Default().
func WithErrorLog(l *log.Logger) Option {
	return func(c *config) { c.errorLog = l }
}

// publicKey is one key of the server's JWKS, with the one algorithm it verifies.
type publicKey struct {
	kid       string
	algorithm string
	ed        ed25519.PublicKey
	ec        *ecdsa.PublicKey
	rsa       *rsa.PublicKey
}

// verify checks signature over input.
func (k *publicKey) verify(input, signature []byte) bool {
	switch k.algorithm {
	case "EdDSA":
		return len(signature) == ed25519.SignatureSize && ed25519.Verify(k.ed, input, signature)
	case "ES256":
		// JOSE writes r || s, 32 bytes each (not ASN.1).
		if len(signature) != 64 {
			return false
		}
		digest := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(signature[:32]), new(big.Int).SetBytes(signature[32:])
		return ecdsa.Verify(k.ec, digest[:], r, s)
	case "RS256":
		digest := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, digest[:], signature) == nil
	}
	return false
}

// jwk is the members of a JSON Web Key that matter here.
type jwk struct {
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
}

var b64 = base64.RawURLEncoding.Strict()

func decodeFixed(s string, size int) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	return b, err == nil && len(b) == size
}

// importKey is a usable signature key, or nil for anything else (other algorithms,
// other uses, malformed keys).
func importKey(raw json.RawMessage) *publicKey {
	var k jwk
	if json.Unmarshal(raw, &k) != nil || k.Kid == "" {
		return nil
	}
	if k.Use != "" && k.Use != "sig" {
		return nil
	}
	key := &publicKey{kid: k.Kid, algorithm: k.Alg}
	switch {
	case k.Alg == "EdDSA" && k.Kty == "OKP" && k.Crv == "Ed25519":
		x, ok := decodeFixed(k.X, ed25519.PublicKeySize)
		if !ok {
			return nil
		}
		key.ed = ed25519.PublicKey(x)
	case k.Alg == "ES256" && k.Kty == "EC" && k.Crv == "P-256":
		x, okX := decodeFixed(k.X, 32)
		y, okY := decodeFixed(k.Y, 32)
		if !okX || !okY {
			return nil
		}
		// crypto/ecdh refuses points that are not on the curve.
		if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err != nil {
			return nil
		}
		key.ec = &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	case k.Alg == "RS256" && k.Kty == "RSA":
		n, errN := b64.DecodeString(k.N)
		e, errE := b64.DecodeString(k.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			return nil
		}
		exponent := int(new(big.Int).SetBytes(e).Int64())
		modulus := new(big.Int).SetBytes(n)
		if exponent < 3 || exponent%2 == 0 || modulus.BitLen() < 2048 {
			return nil
		}
		key.rsa = &rsa.PublicKey{N: modulus, E: exponent}
	default:
		return nil
	}
	return key
}

// keysFromJWKS reads the usable keys of a JWKS document, by key id.
func keysFromJWKS(data []byte) (map[string]*publicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Keys == nil {
		return nil, errors.New("not a JWKS document")
	}
	keys := make(map[string]*publicKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		if key := importKey(raw); key != nil {
			keys[key.kid] = key
		}
	}
	return keys, nil
}

// Verifier checks access tokens against micro-user's published keys, without asking
// micro-user for each token. It is safe for concurrent use; make one and share it.
//
// The keys are fetched at the first Verify and kept for the keys TTL (then fetched
// again; a failed refresh keeps the old ones). A token naming a key id not seen yet
// (after `micro-user keys rotate`) makes them be fetched at once: at most once per
// [UnknownKeyInterval] per key id, and at most once per [MinFetchInterval] in all.
type Verifier struct {
	address string
	jwksURL string
	http    *http.Client
	now     func() time.Time
	timeout time.Duration
	logf    func(string, ...any)
	keys    *cached[map[string]*publicKey]

	mu      sync.Mutex
	tried   map[string]time.Time             // unknown key ids, and when they made the keys be fetched
	revoked map[string]*cached[*revocations] // by issuer
	no404   sync.Once                        // logs once that the server publishes no revocations
}

// NewVerifier returns a Verifier of the tokens of the micro-user at [WithAddress]
// (else $MICRO_USER_ADDRESS, else http://localhost:8080). It fetches nothing yet.
func NewVerifier(opts ...Option) *Verifier {
	return newVerifier(newConfig(opts))
}

func newVerifier(c *config) *Verifier {
	v := &Verifier{
		address: c.address,
		jwksURL: c.address + JWKSPath,
		http:    c.httpClient,
		now:     c.now,
		timeout: c.timeout,
		logf:    c.errorLog.Printf,
		tried:   make(map[string]time.Time),
		revoked: make(map[string]*cached[*revocations]),
	}
	v.keys = newCached("signing keys", v.fetchKeys, c.keysTTL, MinFetchInterval, c.timeout, c.now, c.errorLog.Printf)
	return v
}

// get fetches a JSON document of the server's, reading at most limit bytes of its body.
func (v *Verifier) get(ctx context.Context, address string, limit int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, address, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "micro-user-sdk-go/"+microuser.Version)
	rsp, err := v.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer rsp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(rsp.Body, limit))
	if err != nil {
		return nil, nil, err
	}
	return rsp, body, nil
}

// fetchKeys asks the server for its JWKS.
func (v *Verifier) fetchKeys(ctx context.Context) (map[string]*publicKey, error) {
	rsp, body, err := v.get(ctx, v.jwksURL, jwksBodyMax)
	if err != nil {
		return nil, err
	}
	if rsp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d", v.jwksURL, rsp.StatusCode)
	}
	keys, err := keysFromJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.jwksURL, err)
	}
	return keys, nil
}

// key is the key with this id, or nil; an error wrapping ErrUnavailable when no keys
// were ever had.
func (v *Verifier) key(ctx context.Context, kid string) (*publicKey, error) {
	keys, err := v.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	found := keys[kid]
	if found == nil && (v.keys.refreshing() || v.mayRefetch(kid)) {
		v.keys.refresh(ctx, true)
		keys, _ = v.keys.get()
		found = keys[kid]
	}
	return found, nil
}

// mayRefetch is true, and notes it, unless this key id made the keys be fetched within
// UnknownKeyInterval.
func (v *Verifier) mayRefetch(kid string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if last, ok := v.tried[kid]; ok && now.Sub(last) < UnknownKeyInterval {
		return false
	}
	if len(v.tried) >= triedKidsLimit {
		for k, t := range v.tried {
			if now.Sub(t) >= UnknownKeyInterval {
				delete(v.tried, k)
			}
		}
		if len(v.tried) >= triedKidsLimit {
			v.tried = make(map[string]time.Time)
		}
	}
	v.tried[kid] = now
	return true
}

// Verify checks an access token and returns what it says. A token that is malformed,
// forged, expired, signed by a key the server does not publish, or whose algorithm is
// not its key's (such as "none" or HS256) is an error wrapping [ErrInvalidToken]
// ([ErrExpired] for an expired one). When the keys could never be fetched, the error
// wraps [ErrUnavailable].
//
// A valid token that the server lists as revoked (its jti, its session's sid, or its
// subject, a deleted account) is refused too, with an error wrapping ErrInvalidToken
// ("token revoked"): see [Verifier] for how revocations are learnt. When they could
// never be fetched for the token's issuer, the error wraps [ErrUnavailable].
//
// It fetches the keys when it has none, when they are older than the keys TTL, and
// when the token names a key it does not know; ctx bounds the wait.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, invalid("malformed token")
	}
	var header struct {
		Alg  any `json:"alg"`
		Kid  any `json:"kid"`
		Crit any `json:"crit"`
	}
	if raw, err := b64.DecodeString(parts[0]); err != nil || !isObject(raw) || json.Unmarshal(raw, &header) != nil {
		return nil, invalid("malformed token")
	}
	algorithm, _ := header.Alg.(string)
	if !accepted(algorithm) {
		return nil, invalid("token algorithm not accepted (only " + strings.Join(algorithms, ", ") + ")")
	}
	kid, _ := header.Kid.(string)
	if kid == "" {
		return nil, invalid("token without a key id")
	}
	if header.Crit != nil {
		return nil, invalid("token with critical header parameters")
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, invalid("token signed by an unknown key")
	}
	// The key decides the algorithm: a token cannot choose "none" or another family.
	if algorithm != key.algorithm {
		return nil, invalid("token algorithm does not match its key")
	}
	signature, err := b64.DecodeString(parts[2])
	if err != nil || !key.verify([]byte(parts[0]+"."+parts[1]), signature) {
		return nil, invalid("bad signature")
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil || !isObject(payload) {
		return nil, invalid("malformed claims")
	}
	claims, err := claimsOf(payload, v.now())
	if err != nil {
		return nil, err
	}
	list, err := v.revocationsOf(claims.Issuer).current(ctx)
	if err != nil {
		return nil, err
	}
	if list.revokes(claims) {
		return nil, invalid("token revoked")
	}
	return claims, nil
}

// revocations is the server's revocations document of one issuer.
type revocations struct {
	jti, sid, sub map[string]struct{}
	ttl           time.Duration // its max-age
}

func (r *revocations) revokes(c *Claims) bool {
	listed := func(set map[string]struct{}, value string) bool {
		_, ok := set[value]
		return ok && value != ""
	}
	return listed(r.jti, c.ID) || listed(r.sid, c.SessionID) || listed(r.sub, c.Subject)
}

// revocationsOf is the cache of the revocations of issuer, made at its first token.
func (v *Verifier) revocationsOf(issuer string) *cached[*revocations] {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.revoked[issuer]; c != nil {
		return c
	}
	if len(v.revoked) >= issuersLimit {
		// Only signed tokens name issuers, so this takes many namespaces: start afresh.
		v.revoked = make(map[string]*cached[*revocations])
	}
	fetch := func(ctx context.Context) (*revocations, error) { return v.fetchRevocations(ctx, issuer) }
	c := newCached("revocations of "+strconv.Quote(issuer), fetch, DefaultRevocationsTTL, MinFetchInterval, v.timeout, v.now, v.logf)
	c.ttlOf = func(r *revocations) time.Duration { return r.ttl }
	v.revoked[issuer] = c
	return c
}

// fetchRevocations asks the server what is revoked for issuer. A server that does not
// publish revocations (404: older than this SDK) revokes nothing, and this is logged once.
func (v *Verifier) fetchRevocations(ctx context.Context, issuer string) (*revocations, error) {
	address := v.address + RevocationsPath + "?iss=" + url.QueryEscape(issuer)
	rsp, body, err := v.get(ctx, address, revocationsBodyMax)
	if err != nil {
		return nil, err
	}
	if rsp.StatusCode == http.StatusNotFound {
		v.no404.Do(func() {
			v.logf("micro-user: %s answered 404: this server publishes no revocations, so revoked access tokens pass until they expire", address)
		})
		return &revocations{ttl: DefaultRevocationsTTL}, nil
	}
	if rsp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d", address, rsp.StatusCode)
	}
	var doc struct {
		Iss *string  `json:"iss"`
		Jti []string `json:"jti"`
		Sid []string `json:"sid"`
		Sub []string `json:"sub"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Iss == nil {
		return nil, fmt.Errorf("%s: not a revocations document", address)
	}
	if *doc.Iss != issuer {
		return nil, fmt.Errorf("%s: the revocations of %q, not of %q", address, *doc.Iss, issuer)
	}
	set := func(list []string) map[string]struct{} {
		m := make(map[string]struct{}, len(list))
		for _, s := range list {
			m[s] = struct{}{}
		}
		return m
	}
	return &revocations{jti: set(doc.Jti), sid: set(doc.Sid), sub: set(doc.Sub), ttl: maxAge(rsp.Header.Get("Cache-Control"))}, nil
}

// maxAge is the max-age of a Cache-Control header value: DefaultRevocationsTTL when it
// has none, and at least MinFetchInterval.
func maxAge(cacheControl string) time.Duration {
	for _, directive := range strings.Split(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		if !strings.EqualFold(name, "max-age") {
			continue
		}
		seconds, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
		if err != nil || seconds < 0 {
			break
		}
		if ttl := time.Duration(seconds) * time.Second; ttl/time.Second == time.Duration(seconds) && ttl > MinFetchInterval {
			return ttl
		}
		return MinFetchInterval
	}
	return DefaultRevocationsTTL
}

func accepted(algorithm string) bool {
	for _, a := range algorithms {
		if a == algorithm {
			return true
		}
	}
	return false
}

func isObject(data []byte) bool {
	data = bytes.TrimSpace(data)
	return len(data) > 0 && data[0] == '{'
}

// claimsOf reads verified claims, unless they expired or lack a subject or issuer.
func claimsOf(payload []byte, now time.Time) (*Claims, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, invalid("malformed claims")
	}
	exp, ok := integer(raw["exp"])
	if !ok {
		return nil, invalid("token without expiry")
	}
	// Whole seconds: exp <= now (as a fraction) is exp <= now's whole seconds.
	if exp <= now.Unix() {
		return nil, ErrExpired
	}
	if nbf, present := raw["nbf"]; present {
		n, isNumber := nbf.(json.Number)
		f, err := n.Float64()
		if !isNumber || err != nil || f > float64(now.UnixNano())/1e9 {
			return nil, invalid("token not valid yet")
		}
	}
	sub, _ := raw["sub"].(string)
	iss, _ := raw["iss"].(string)
	if sub == "" || iss == "" {
		return nil, invalid("token without subject or issuer")
	}
	c := &Claims{Subject: sub, Issuer: iss, Namespace: iss, Expiry: time.Unix(exp, 0)}
	if namespace, _ := raw["namespace"].(string); namespace != "" {
		c.Namespace = namespace
	}
	c.Type, _ = raw["type"].(string)
	c.ID, _ = raw["jti"].(string)
	c.SessionID, _ = raw["sid"].(string)
	if iat, ok := integer(raw["iat"]); ok {
		c.IssuedAt = time.Unix(iat, 0)
	}
	if list, ok := raw["scopes"].([]any); ok {
		c.Scopes = make([]string, 0, len(list))
		for _, s := range list {
			if s, ok := s.(string); ok {
				c.Scopes = append(c.Scopes, s)
			}
		}
	} else {
		c.Scopes = []string{}
	}
	return c, nil
}

// integer reads a JSON integer (not a fraction, not an exponent form).
func integer(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}
