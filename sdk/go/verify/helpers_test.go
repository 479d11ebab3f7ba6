package verify_test

// TestMain (a live micro-user for the live tests), and stand-ins: signing keys made
// here, a JWKS and Rules.List server, and a clock that tests move.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/micro-user/micro-user/sdk/go/internal/testserver"
	"github.com/micro-user/micro-user/sdk/go/rules"
	"github.com/micro-user/micro-user/sdk/go/verify"
)

var server *testserver.Server

func TestMain(m *testing.M) {
	os.Exit(testserver.Main(m, &server))
}

// testContext is a context that ends with the test (or after two minutes).
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// quiet is an error log that the test shows only when it fails.
func quiet(t *testing.T) verify.Option {
	return verify.WithErrorLog(log.New(testWriter{t}, "", 0))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// clock is a time that tests set and move.
type clock struct{ unixNano atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.unixNano.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.unixNano.Load()) }
func (c *clock) advance(d time.Duration) { c.unixNano.Add(int64(d)) }
func (c *clock) option() verify.Option   { return verify.WithClock(c.now) }

// enc is base64url without padding, as in JWTs.
func enc(data []byte) string { return base64.RawURLEncoding.EncodeToString(data) }

// encJSON is v as JSON, base64url-encoded.
func encJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return enc(data)
}

// decJSON decodes a base64url part of a JWT into v.
func decJSON(s string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func bigBytes(n *big.Int, size int) []byte { return n.FillBytes(make([]byte, size)) }

func sha(data []byte) []byte {
	sum := sha256.Sum256(data)
	return sum[:]
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func seconds(t time.Time) int64                { return t.Unix() }
func later(t time.Time, d time.Duration) int64 { return t.Add(d).Unix() }

// key is a signing key made here.
type key struct {
	kid, alg string
	ed       ed25519.PrivateKey
	ec       *ecdsa.PrivateKey
	rsa      *rsa.PrivateKey
}

func newKey(t *testing.T, alg string) *key {
	t.Helper()
	k := &key{kid: alg + "-" + testserver.RandomHex(4), alg: alg}
	var err error
	switch alg {
	case "EdDSA":
		_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	case "ES256":
		k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("no such algorithm %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwk is the public key as micro-user publishes it.
func (k *key) jwk() map[string]any {
	m := map[string]any{"kid": k.kid, "alg": k.alg, "use": "sig"}
	switch k.alg {
	case "EdDSA":
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", enc(k.ed.Public().(ed25519.PublicKey))
	case "ES256":
		m["kty"], m["crv"] = "EC", "P-256"
		m["x"], m["y"] = enc(bigBytes(k.ec.X, 32)), enc(bigBytes(k.ec.Y, 32))
	case "RS256":
		m["kty"], m["n"], m["e"] = "RSA", enc(k.rsa.N.Bytes()), enc(big.NewInt(int64(k.rsa.E)).Bytes())
	}
	return m
}

// signature signs input with the key's algorithm.
func (k *key) signature(t *testing.T, input []byte) []byte {
	t.Helper()
	switch k.alg {
	case "EdDSA":
		return ed25519.Sign(k.ed, input)
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, k.ec, sha(input))
		if err != nil {
			t.Fatal(err)
		}
		return append(bigBytes(r, 32), bigBytes(s, 32)...)
	case "RS256":
		sig, err := rsa.SignPKCS1v15(rand.Reader, k.rsa, crypto.SHA256, sha(input))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	return nil
}

// token is a JWT with this header (alg and kid are the key's unless given) and claims.
func (k *key) token(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": k.alg, "kid": k.kid, "typ": "JWT"}
	for name, value := range header {
		h[name] = value
	}
	input := encJSON(h) + "." + encJSON(claims)
	return input + "." + enc(k.signature(t, []byte(input)))
}

// tokenOfPayload is a JWT of the key with a payload that is this raw JSON.
func (k *key) tokenOfPayload(t *testing.T, payload string) string {
	t.Helper()
	input := encJSON(map[string]any{"alg": k.alg, "kid": k.kid}) + "." + enc([]byte(payload))
	return input + "." + enc(k.signature(t, []byte(input)))
}

// claims are the claims micro-user puts in an access token, valid for 15 minutes from now.
func claims(now time.Time, scopes ...string) map[string]any {
	if scopes == nil {
		scopes = []string{}
	}
	return map[string]any{
		"iss": "micro", "sub": "svc-1", "type": "service", "scopes": scopes,
		"iat": seconds(now), "exp": later(now, 15*time.Minute), "jti": testserver.RandomHex(16),
	}
}

// standIn is a stand-in micro-user: a JWKS of the keys given and a Rules.List of the
// rules given, counting what it is asked.
type standIn struct {
	*httptest.Server
	mu         sync.Mutex
	keys       []map[string]any
	rules      []rules.Rule
	key        string // the API key Rules.List wants
	down       bool
	jwksCalls  atomic.Int64
	rulesCalls atomic.Int64
	// The revocations it publishes, per issuer, with this Cache-Control (none when
	// ""); with noRevocations it answers 404, as a server older than the SDK.
	revoked          map[string]revokedLists
	cacheControl     string
	noRevocations    bool
	answerIss        string // the iss of its documents, when not the one asked for
	revocationsCalls atomic.Int64
	revocationsAsked []string // the iss of each request
}

// revokedLists is the revocations document of one issuer.
type revokedLists struct{ jti, sid, sub []string }

func newStandIn(t *testing.T, keys ...*key) *standIn {
	s := &standIn{key: "muk_test", cacheControl: "public, max-age=5"}
	for _, k := range keys {
		s.keys = append(s.keys, k.jwk())
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/.well-known/jwks.json":
		s.jwksCalls.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	case "/v1/auth/Rules/List":
		s.rulesCalls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("Authorization") != "Bearer "+s.key {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"id": "auth", "code": 401, "detail": "invalid credentials", "status": "Unauthorized"}`)
			return
		}
		list := s.rules
		if list == nil {
			list = []rules.Rule{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"rules": list})
	case "/.well-known/revocations":
		s.revocationsCalls.Add(1)
		iss := r.URL.Query().Get("iss")
		s.revocationsAsked = append(s.revocationsAsked, iss)
		if s.noRevocations {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if s.cacheControl != "" {
			w.Header().Set("Cache-Control", s.cacheControl)
		}
		lists := s.revoked[iss]
		if s.answerIss != "" {
			iss = s.answerIss
		}
		nonNil := func(l []string) []string {
			if l == nil {
				return []string{}
			}
			return l
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"iss": iss, "jti": nonNil(lists.jti), "sid": nonNil(lists.sid), "sub": nonNil(lists.sub)})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (s *standIn) set(change func(s *standIn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s)
}
