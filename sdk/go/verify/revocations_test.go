package verify_test

// Revocations learnt from the stand-in's /.well-known/revocations: tokens listed by jti,
// sid or sub are refused, the document is kept for its max-age, one fetch per issuer,
// and the last good document is kept when a refresh fails.

import (
	"bytes"
	"context"
	"errors"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/micro-user/micro-user/sdk/go/verify"
)

func TestRevokedTokensAreRefused(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	v := newVerifier(t, s, c)
	ctx := context.Background()
	token := func(change func(map[string]any)) string {
		body := claims(c.now(), "reader")
		body["sid"] = "sess-" + body["jti"].(string)
		change(body)
		return k.token(t, nil, body)
	}
	byJti := token(func(b map[string]any) { b["jti"] = "jti-revoked" })
	bySid := token(func(b map[string]any) { b["sid"] = "sid-revoked" })
	bySub := token(func(b map[string]any) { b["sub"] = "deleted-account" })
	clean := token(func(map[string]any) {})
	service := token(func(b map[string]any) { delete(b, "sid") }) // client credentials: no sid
	s.revoked = map[string]revokedLists{"micro": {jti: []string{"jti-revoked"}, sid: []string{"sid-revoked", ""}, sub: []string{"deleted-account"}}}

	for name, tok := range map[string]string{"jti": byJti, "sid": bySid, "sub": bySub} {
		_, err := v.Verify(ctx, tok)
		wantInvalid(t, err, "token revoked")
		if name == "sid" && err != nil && !strings.HasPrefix(err.Error(), "invalid token") {
			t.Errorf("error %v", err)
		}
	}
	got, err := v.Verify(ctx, clean)
	if err != nil || !strings.HasPrefix(got.SessionID, "sess-") {
		t.Fatalf("a token not listed: %+v, %v", got, err)
	}
	if _, err := v.Verify(ctx, service); err != nil {
		t.Errorf("a token without sid (an empty sid is listed): %v", err)
	}
	if n := s.revocationsCalls.Load(); n != 1 || s.revocationsAsked[0] != "micro" {
		t.Errorf("revocations fetched %d times, for %q", n, s.revocationsAsked)
	}

	// Each issuer has its own document: micro's list does not revoke shop's tokens.
	shop := token(func(b map[string]any) { b["iss"], b["jti"] = "shop", "jti-revoked" })
	if _, err := v.Verify(ctx, shop); err != nil {
		t.Errorf("shop's token: %v", err)
	}
	s.set(func(s *standIn) { s.revoked["shop"] = revokedLists{sub: []string{"svc-1"}} })
	c.advance(5 * time.Second)
	_, err = v.Verify(ctx, shop)
	wantInvalid(t, err, "token revoked")
	if got := strings.Join(s.revocationsAsked, ","); got != "micro,shop,shop" {
		t.Errorf("asked for %s", got)
	}
}

func TestRevocationsAreKeptForTheirMaxAge(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.cacheControl = "public, max-age=10"
	v := newVerifier(t, s, c)
	ctx := context.Background()
	body := claims(epoch.Add(time.Minute))
	tok := k.token(t, nil, body)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	s.set(func(s *standIn) { s.revoked = map[string]revokedLists{"micro": {jti: []string{body["jti"].(string)}}} })
	c.advance(9*time.Second + 999*time.Millisecond)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Errorf("within the max-age, the document kept says nothing of it: %v", err)
	}
	if n := s.revocationsCalls.Load(); n != 1 {
		t.Errorf("fetched %d times within the max-age", n)
	}
	c.advance(time.Millisecond)
	_, err := v.Verify(ctx, tok)
	wantInvalid(t, err, "token revoked")
	if n := s.revocationsCalls.Load(); n != 2 {
		t.Errorf("fetched %d times", n)
	}

	// The server goes away: the last good document is kept (and the failure logged).
	s.set(func(s *standIn) { s.down = true })
	for i := 0; i < 3; i++ {
		c.advance(11 * time.Second)
		_, err = v.Verify(ctx, tok)
		wantInvalid(t, err, "token revoked")
	}
	// It comes back with the revocation gone (the token expired there, say).
	s.set(func(s *standIn) { s.down, s.revoked = false, nil })
	c.advance(11 * time.Second)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Errorf("after the server came back: %v", err)
	}
}

func TestRevocationsMaxAgeBounds(t *testing.T) {
	k := newKey(t, "EdDSA")
	for _, tc := range []struct {
		cacheControl string
		kept         time.Duration // fetched again after this, not before
	}{
		{"", verify.DefaultRevocationsTTL},
		{"public", verify.DefaultRevocationsTTL},
		{"public, max-age=0", time.Second},
		{"no-cache, max-age=-3", verify.DefaultRevocationsTTL},
		{"public, MAX-AGE=2", 2 * time.Second},
	} {
		s, c := newStandIn(t, k), newClock(epoch)
		s.cacheControl = tc.cacheControl
		v := newVerifier(t, s, c)
		tok := k.token(t, nil, claims(epoch.Add(time.Hour)))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		c.advance(tc.kept - time.Millisecond)
		_, _ = v.Verify(context.Background(), tok)
		if n := s.revocationsCalls.Load(); n != 1 {
			t.Errorf("%q: fetched again before %v", tc.cacheControl, tc.kept)
		}
		c.advance(time.Millisecond)
		_, _ = v.Verify(context.Background(), tok)
		if n := s.revocationsCalls.Load(); n != 2 {
			t.Errorf("%q: not fetched again after %v", tc.cacheControl, tc.kept)
		}
	}
}

func TestRevocationsFetchedOneAtATime(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	v := newVerifier(t, s, c)
	tok := k.token(t, nil, claims(epoch))
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := s.revocationsCalls.Load(); n != 1 {
		t.Errorf("20 verifications fetched the revocations %d times", n)
	}
}

func TestRevocationsUnavailable(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	v := newVerifier(t, s, c)
	ctx := context.Background()
	tok := k.token(t, nil, claims(epoch))
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// A new issuer while the server is away: no document was ever had, so it fails
	// closed (503), not open.
	s.set(func(s *standIn) { s.down = true })
	body := claims(epoch)
	body["iss"] = "shop"
	_, err := v.Verify(ctx, k.token(t, nil, body))
	if !errors.Is(err, verify.ErrUnavailable) || errors.Is(err, verify.ErrInvalidToken) {
		t.Errorf("error %v, want ErrUnavailable", err)
	}
	// A document of another issuer than asked for is not taken.
	s2 := newStandIn(t, k)
	s2.answerIss = "other"
	v2 := newVerifier(t, s2, c)
	if _, err := v2.Verify(ctx, tok); !errors.Is(err, verify.ErrUnavailable) {
		t.Errorf("a document of another issuer: %v", err)
	}
}

func TestServerWithoutRevocations(t *testing.T) {
	// A micro-user older than this SDK answers 404: it revokes nothing, which is logged.
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.noRevocations = true
	var logged bytes.Buffer
	v := newVerifier(t, s, c, verify.WithErrorLog(log.New(&logged, "", 0)))
	tok := k.token(t, nil, claims(epoch))
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		c.advance(verify.DefaultRevocationsTTL)
	}
	if n := strings.Count(logged.String(), "publishes no revocations"); n != 1 {
		t.Errorf("logged %d times: %q", n, logged.String())
	}
}

func TestMiddlewareRefusesRevokedTokens(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.rules = orderRules
	h := newMiddleware(t, s, c)
	body := claims(epoch, "reader")
	body["sid"] = "sid-1"
	tok := bearer(k.token(t, nil, body))
	if got := do(h, "/orders/42", tok); got.code != 200 {
		t.Fatalf("before: %+v", got)
	}
	s.set(func(s *standIn) { s.revoked = map[string]revokedLists{"micro": {sid: []string{"sid-1"}}} })
	c.advance(5 * time.Second)
	got := do(h, "/orders/42", tok)
	wantError(t, got, 401, "invalid token: token revoked")
	if got.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("WWW-Authenticate %q", got.header.Get("WWW-Authenticate"))
	}
}
