package verify_test

// The Verifier against a stand-in JWKS with keys made here: every algorithm, expiry on
// a clock the test moves, forged and malformed tokens, and when the keys are fetched.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/micro-user/micro-user/sdk/go/verify"
)

var epoch = time.Unix(1_800_000_000, 0)

func newVerifier(t *testing.T, s *standIn, c *clock, opts ...verify.Option) *verify.Verifier {
	return verify.NewVerifier(append([]verify.Option{verify.WithAddress(s.URL), c.option(), quiet(t)}, opts...)...)
}

func wantInvalid(t *testing.T, err error, reason string) {
	t.Helper()
	if !errors.Is(err, verify.ErrInvalidToken) || !strings.Contains(err.Error(), reason) {
		t.Errorf("error %v, want an invalid token (%s)", err, reason)
	}
}

func TestEveryAlgorithm(t *testing.T) {
	keys := []*key{newKey(t, "EdDSA"), newKey(t, "ES256"), newKey(t, "RS256")}
	s, c := newStandIn(t, keys...), newClock(epoch)
	v := newVerifier(t, s, c)
	for _, k := range keys {
		body := claims(c.now(), "reader", "writer")
		got, err := v.Verify(context.Background(), k.token(t, nil, body))
		if err != nil {
			t.Fatalf("%s: %v", k.alg, err)
		}
		want := &verify.Claims{
			Subject: "svc-1", Issuer: "micro", Namespace: "micro", Type: "service", Scopes: []string{"reader", "writer"},
			Expiry: epoch.Add(15 * time.Minute), IssuedAt: epoch, ID: body["jti"].(string),
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: claims %+v, want %+v", k.alg, got, want)
		}
		if subject := got.RuleSubject(); subject.Namespace != "micro" || len(subject.Scopes) != 2 {
			t.Errorf("subject %+v", subject)
		}
	}
	if n := s.jwksCalls.Load(); n != 1 {
		t.Errorf("the keys were fetched %d times", n)
	}
}

func TestExpiry(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	v := newVerifier(t, s, c)
	token := k.token(t, nil, claims(epoch)) // expires at epoch + 15 minutes
	for _, step := range []struct {
		at    time.Duration
		valid bool
	}{
		{0, true},
		{15*time.Minute - time.Second, true},
		{15*time.Minute - time.Millisecond, true},
		{15 * time.Minute, false},
		{time.Hour, false},
	} {
		c.unixNano.Store(epoch.Add(step.at).UnixNano())
		_, err := v.Verify(context.Background(), token)
		if step.valid && err != nil {
			t.Errorf("at +%v: %v", step.at, err)
		}
		if !step.valid && (!errors.Is(err, verify.ErrExpired) || !errors.Is(err, verify.ErrInvalidToken)) {
			t.Errorf("at +%v: error %v, want expired", step.at, err)
		}
	}
	// A token made valid later.
	c.unixNano.Store(epoch.UnixNano())
	notYet := claims(epoch)
	notYet["nbf"] = later(epoch, time.Minute)
	_, err := v.Verify(context.Background(), k.token(t, nil, notYet))
	wantInvalid(t, err, "not valid yet")
	c.advance(time.Minute)
	if _, err := v.Verify(context.Background(), k.token(t, nil, notYet)); err != nil {
		t.Error(err)
	}
}

func TestForgedTokens(t *testing.T) {
	ed, es := newKey(t, "EdDSA"), newKey(t, "ES256")
	s, c := newStandIn(t, ed, es), newClock(epoch)
	v := newVerifier(t, s, c)
	ctx := context.Background()
	good := ed.token(t, nil, claims(epoch, "reader"))
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")

	// Claims changed after signing.
	var body map[string]any
	_ = decJSON(parts[1], &body)
	body["scopes"] = []string{"admin"}
	_, err := v.Verify(ctx, parts[0]+"."+encJSON(body)+"."+parts[2])
	wantInvalid(t, err, "bad signature")
	// A signature changed.
	sig := []byte(parts[2])
	sig[5] ^= 1
	_, err = v.Verify(ctx, parts[0]+"."+parts[1]+"."+string(sig))
	wantInvalid(t, err, "")
	// No signature, as "none" would have it.
	none := encJSON(map[string]any{"alg": "none", "kid": ed.kid}) + "." + parts[1] + "."
	_, err = v.Verify(ctx, none)
	wantInvalid(t, err, "algorithm not accepted")
	_, err = v.Verify(ctx, parts[0]+"."+parts[1]+".")
	wantInvalid(t, err, "bad signature")
	// HS256 with the public key as the secret (the classic confusion).
	jwk := ed.jwk()
	input := encJSON(map[string]any{"alg": "HS256", "kid": ed.kid}) + "." + parts[1]
	_, err = v.Verify(ctx, input+"."+enc(hmacSHA256([]byte(jwk["x"].(string)), []byte(input))))
	wantInvalid(t, err, "algorithm not accepted")
	// An algorithm of another key: an ES256 token naming the EdDSA key.
	_, err = v.Verify(ctx, es.token(t, map[string]any{"kid": ed.kid}, claims(epoch)))
	wantInvalid(t, err, "does not match its key")
	// A key not published.
	stranger := newKey(t, "EdDSA")
	stranger.kid = ed.kid
	_, err = v.Verify(ctx, stranger.token(t, nil, claims(epoch)))
	wantInvalid(t, err, "bad signature")
	stranger.kid = "unknown"
	_, err = v.Verify(ctx, stranger.token(t, nil, claims(epoch)))
	wantInvalid(t, err, "unknown key")
}

func TestMalformedTokens(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	v := newVerifier(t, s, c)
	ctx := context.Background()
	without := func(name string) map[string]any {
		body := claims(epoch)
		delete(body, name)
		return body
	}
	with := func(name string, value any) map[string]any {
		body := claims(epoch)
		body[name] = value
		return body
	}
	for _, c := range []struct {
		name, token, reason string
	}{
		{"empty", "", "malformed"},
		{"two parts", "eyJhbGciOiJFZERTQSJ9.e30", "malformed"},
		{"four parts", k.token(t, nil, claims(epoch)) + ".x", "malformed"},
		{"header not base64", "!!." + strings.SplitN(k.token(t, nil, claims(epoch)), ".", 2)[1], "malformed"},
		{"header padded", encJSON(map[string]any{"alg": "EdDSA", "kid": k.kid}) + "=.e30.x", "malformed"},
		{"header not an object", enc([]byte(`["EdDSA"]`)) + ".e30.x", "malformed"},
		{"no key id", k.token(t, map[string]any{"kid": nil}, claims(epoch)), "without a key id"},
		{"key id not a string", k.token(t, map[string]any{"kid": 7}, claims(epoch)), "without a key id"},
		{"critical parameters", k.token(t, map[string]any{"crit": []string{"exp"}}, claims(epoch)), "critical"},
		{"no expiry", k.token(t, nil, without("exp")), "without expiry"},
		{"expiry a fraction", k.token(t, nil, with("exp", float64(later(epoch, time.Hour))+0.5)), "without expiry"},
		{"expiry a string", k.token(t, nil, with("exp", "1900000000")), "without expiry"},
		{"no subject", k.token(t, nil, without("sub")), "without subject or issuer"},
		{"no issuer", k.token(t, nil, with("iss", "")), "without subject or issuer"},
		{"claims not an object", k.tokenOfPayload(t, `[1]`), "malformed claims"},
	} {
		_, err := v.Verify(ctx, c.token)
		if !errors.Is(err, verify.ErrInvalidToken) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: error %v, want an invalid token (%s)", c.name, err, c.reason)
		}
	}
	// Scopes that are not a list of strings count for nothing.
	got, err := v.Verify(ctx, k.token(t, nil, with("scopes", []any{"reader", 7, nil})))
	if err != nil || !reflect.DeepEqual(got.Scopes, []string{"reader"}) {
		t.Errorf("scopes %v, %v", got, err)
	}
	got, err = v.Verify(ctx, k.token(t, nil, with("scopes", "admin")))
	if err != nil || len(got.Scopes) != 0 {
		t.Errorf("scopes %v, %v", got, err)
	}
}

func TestUnknownKeyIdsFetchTheKeysAgain(t *testing.T) {
	old, rotated := newKey(t, "EdDSA"), newKey(t, "ES256")
	s, c := newStandIn(t, old), newClock(epoch)
	v := newVerifier(t, s, c)
	ctx := context.Background()
	if _, err := v.Verify(ctx, old.token(t, nil, claims(epoch))); err != nil {
		t.Fatal(err)
	}
	// The server rotates: the new key is published beside the old one.
	s.set(func(s *standIn) { s.keys = append(s.keys, rotated.jwk()) })
	c.advance(2 * time.Second)
	if _, err := v.Verify(ctx, rotated.token(t, nil, claims(c.now()))); err != nil {
		t.Fatalf("a token of the new key: %v", err)
	}
	if _, err := v.Verify(ctx, old.token(t, nil, claims(c.now()))); err != nil {
		t.Fatalf("a token of the old key: %v", err)
	}
	if n := s.jwksCalls.Load(); n != 2 {
		t.Errorf("the keys were fetched %d times, want 2", n)
	}

	// A key id that is not published makes one fetch, not one per token.
	c.advance(2 * time.Second)
	stranger := newKey(t, "EdDSA")
	for i := 0; i < 5; i++ {
		_, err := v.Verify(ctx, stranger.token(t, nil, claims(c.now())))
		wantInvalid(t, err, "unknown key")
	}
	if n := s.jwksCalls.Load(); n != 3 {
		t.Errorf("the keys were fetched %d times, want 3", n)
	}
	// Many unknown key ids at once: one fetch per MinFetchInterval in all.
	c.advance(2 * time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := *stranger
			k.kid = "unknown-" + string(rune('a'+i))
			_, err := v.Verify(ctx, k.token(t, nil, claims(c.now())))
			wantInvalid(t, err, "unknown key")
		}(i)
	}
	wg.Wait()
	if n := s.jwksCalls.Load(); n > 5 {
		t.Errorf("20 unknown key ids: the keys were fetched %d times in all", n)
	}
	// After UnknownKeyInterval, the same unknown id may ask again.
	before := s.jwksCalls.Load()
	c.advance(verify.UnknownKeyInterval)
	_, _ = v.Verify(ctx, stranger.token(t, nil, claims(c.now())))
	if n := s.jwksCalls.Load(); n != before+1 {
		t.Errorf("the keys were fetched %d times, want %d", n, before+1)
	}
}

func TestKeysAreFetchedAgainAfterTheirTTL(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	v := newVerifier(t, s, c, verify.WithKeysTTL(time.Minute))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(ctx, k.token(t, nil, claims(c.now()))); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.jwksCalls.Load(); n != 1 {
		t.Fatalf("fetched %d times", n)
	}
	c.advance(time.Minute)
	if _, err := v.Verify(ctx, k.token(t, nil, claims(c.now()))); err != nil {
		t.Fatal(err)
	}
	if n := s.jwksCalls.Load(); n != 2 {
		t.Fatalf("fetched %d times after the TTL", n)
	}
	// The server is away: the keys kept still verify.
	s.set(func(s *standIn) { s.down = true })
	c.advance(time.Minute)
	if _, err := v.Verify(ctx, k.token(t, nil, claims(c.now()))); err != nil {
		t.Fatalf("with the server away: %v", err)
	}
	// A key removed from the JWKS (its tokens expired) no longer verifies.
	s.set(func(s *standIn) { s.down, s.keys = false, []map[string]any{} })
	c.advance(time.Minute)
	_, err := v.Verify(ctx, k.token(t, nil, claims(c.now())))
	wantInvalid(t, err, "unknown key")
}

func TestUnavailableUntilTheKeysAreFetched(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.set(func(s *standIn) { s.down = true })
	v := newVerifier(t, s, c)
	ctx := context.Background()
	token := k.token(t, nil, claims(epoch))
	_, err := v.Verify(ctx, token)
	if !errors.Is(err, verify.ErrUnavailable) || errors.Is(err, verify.ErrInvalidToken) || !strings.Contains(err.Error(), "502") {
		t.Errorf("error %v, want unavailable", err)
	}
	// Asked again at once: not fetched again (MinFetchInterval), still unavailable.
	_, err = v.Verify(ctx, token)
	if !errors.Is(err, verify.ErrUnavailable) || s.jwksCalls.Load() != 0 {
		t.Errorf("error %v", err)
	}
	s.set(func(s *standIn) { s.down = false })
	c.advance(verify.MinFetchInterval)
	if _, err := v.Verify(ctx, token); err != nil {
		t.Error(err)
	}
	// Nothing answers at the address at all.
	v = verify.NewVerifier(verify.WithAddress("http://127.0.0.1:1"), quiet(t), verify.WithTimeout(2*time.Second))
	if _, err := v.Verify(ctx, token); !errors.Is(err, verify.ErrUnavailable) {
		t.Errorf("error %v, want unavailable", err)
	}
}

func TestUnusableKeysAreSkipped(t *testing.T) {
	good := newKey(t, "EdDSA")
	es := newKey(t, "ES256")
	small := newKey(t, "RS256")
	s, c := newStandIn(t, good), newClock(epoch)
	offCurve := es.jwk()
	offCurve["kid"] = "off-curve"
	offCurve["y"] = offCurve["x"]
	wrongUse := good.jwk()
	wrongUse["kid"], wrongUse["use"] = "encryption", "enc"
	noAlg := good.jwk()
	noAlg["kid"] = "no-alg"
	delete(noAlg, "alg")
	wrongShape := good.jwk()
	wrongShape["kid"], wrongShape["alg"] = "wrong-shape", "ES256"
	shortRSA := small.jwk()
	shortRSA["kid"] = "short-rsa"
	shortRSA["n"] = enc(small.rsa.N.Bytes()[:128]) // 1024 bits
	s.set(func(s *standIn) {
		s.keys = append(s.keys, offCurve, wrongUse, noAlg, wrongShape, shortRSA, map[string]any{"kid": "hs", "kty": "oct", "alg": "HS256", "k": "c2VjcmV0"})
	})
	v := newVerifier(t, s, c)
	ctx := context.Background()
	if _, err := v.Verify(ctx, good.token(t, nil, claims(epoch))); err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{"off-curve", "encryption", "no-alg", "wrong-shape", "short-rsa", "hs"} {
		signer := good
		if kid == "off-curve" || kid == "wrong-shape" {
			signer = es
		}
		if kid == "short-rsa" {
			signer = small
		}
		c.advance(verify.MinFetchInterval) // each unknown key id may fetch the keys again
		_, err := v.Verify(ctx, signer.token(t, map[string]any{"kid": kid}, claims(epoch)))
		if !errors.Is(err, verify.ErrInvalidToken) {
			t.Errorf("key %s: error %v", kid, err)
		}
	}
}

func TestNotAJWKS(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys": "none"}`))
	}))
	defer srv.Close()
	v := verify.NewVerifier(verify.WithAddress(srv.URL), quiet(t))
	_, err := v.Verify(context.Background(), newKey(t, "EdDSA").token(t, nil, claims(epoch)))
	if !errors.Is(err, verify.ErrUnavailable) || !strings.Contains(err.Error(), "not a JWKS") {
		t.Errorf("error %v", err)
	}
}
