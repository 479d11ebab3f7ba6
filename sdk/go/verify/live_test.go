package verify_test

// Against the live micro-user (started by TestMain): real tokens of a service account
// holding a role, verified locally; forged ones refused (by the server too); the
// middleware in front of a real HTTP server, following rule changes; key rotation to
// each algorithm; and local decisions that agree with the server's Auth.Verify.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/auth"
	"github.com/micro-user/micro-user/sdk/go/internal/testserver"
	"github.com/micro-user/micro-user/sdk/go/rules"
	"github.com/micro-user/micro-user/sdk/go/user"
	"github.com/micro-user/micro-user/sdk/go/verify"
)

func admin() *auth.AuthService {
	return auth.NewAuthService(microuser.NewClient(microuser.WithAddress(server.Address), microuser.WithToken(server.AdminKey)))
}

func unique(prefix string) string { return prefix + testserver.RandomHex(5) }

// account is a service account of the live server, and a fresh access token of it.
type account struct {
	id, secret string
	token      *auth.Token
}

// newAccount makes a service account holding the roles scopes, and gets it a token.
func newAccount(t *testing.T, scopes ...string) *account {
	t.Helper()
	ctx, svc := testContext(t), admin()
	generated, err := svc.Generate(ctx, &auth.GenerateRequest{Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	a := &account{id: generated.Account.Id, secret: generated.Account.Secret}
	a.refresh(t)
	return a
}

// refresh gets the account a new token.
func (a *account) refresh(t *testing.T) {
	t.Helper()
	rsp, err := admin().Token(testContext(t), &auth.TokenRequest{Id: a.id, Secret: a.secret})
	if err != nil {
		t.Fatal(err)
	}
	a.token = rsp.Token
}

func newRole(t *testing.T) string {
	t.Helper()
	role := unique("role-")
	if _, err := admin().CreateRole(testContext(t), &auth.CreateRoleRequest{Name: role}); err != nil {
		t.Fatal(err)
	}
	return role
}

// createRule creates a rule on the live server, deleted when the test ends.
func createRule(t *testing.T, r rules.Rule) rules.Rule {
	t.Helper()
	if r.Id == "" {
		r.Id = unique("rule-go-")
	}
	if _, err := admin().CreateRule(testContext(t), &auth.CreateRuleRequest{Rule: &r}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin().DeleteRule(context.Background(), &auth.DeleteRuleRequest{Id: r.Id})
	})
	return r
}

// header is the decoded header of a JWT.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	var h map[string]any
	if err := decJSON(strings.Split(token, ".")[0], &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func liveVerifier(t *testing.T, opts ...verify.Option) *verify.Verifier {
	return verify.NewVerifier(append([]verify.Option{verify.WithAddress(server.Address), quiet(t)}, opts...)...)
}

func TestLiveTokensVerifyLocally(t *testing.T) {
	ctx := testContext(t)
	role := newRole(t)
	a := newAccount(t, role)
	claims, err := liveVerifier(t).Verify(ctx, a.token.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != a.id || claims.Namespace != "micro" || claims.Issuer != server.Address || claims.Type != "service" ||
		len(claims.Scopes) != 1 || claims.Scopes[0] != role || claims.Expiry.Unix() != a.token.Expiry ||
		claims.IssuedAt.Unix() != a.token.Created || len(claims.ID) != 32 {
		t.Errorf("claims %+v, token %+v", claims, a.token)
	}
	// As the server sees it.
	inspected, err := admin().Inspect(ctx, &auth.InspectRequest{Token: a.token.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if inspected.Account.Id != claims.Subject || inspected.Account.Issuer != claims.Namespace || inspected.Account.Type != claims.Type {
		t.Errorf("inspected %+v, claims %+v", inspected.Account, claims)
	}
	if alg := header(t, a.token.AccessToken)["alg"]; alg != "EdDSA" {
		t.Errorf("the server signs with %v", alg)
	}
}

func TestLiveForgedTokensAreRefused(t *testing.T) {
	ctx := testContext(t)
	a := newAccount(t, newRole(t))
	v := liveVerifier(t)
	if _, err := v.Verify(ctx, a.token.AccessToken); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(a.token.AccessToken, ".")
	h := header(t, a.token.AccessToken)
	var body map[string]any
	if err := decJSON(parts[1], &body); err != nil {
		t.Fatal(err)
	}
	body["scopes"] = []string{"admin"}
	raised := encJSON(body)
	withHeader := func(change map[string]any) string {
		copied := map[string]any{}
		for k, v := range h {
			copied[k] = v
		}
		for k, v := range change {
			copied[k] = v
		}
		return encJSON(copied)
	}
	// A key of our own, under an id the server does not publish.
	stranger := newKey(t, "EdDSA")
	forged := map[string]string{
		"tampered claims": parts[0] + "." + raised + "." + parts[2],
		"alg none":        withHeader(map[string]any{"alg": "none"}) + "." + raised + ".",
		"alg HS256":       withHeader(map[string]any{"alg": "HS256"}) + "." + raised + "." + enc(hmacSHA256([]byte("secret"), []byte(parts[0]))),
		"alg ES256":       withHeader(map[string]any{"alg": "ES256"}) + "." + parts[1] + "." + parts[2],
		"unknown kid":     stranger.token(t, map[string]any{"kid": "not-a-server-key"}, body),
		"our key":         stranger.token(t, map[string]any{"kid": h["kid"]}, body),
	}
	for name, token := range forged {
		if _, err := v.Verify(ctx, token); !errors.Is(err, verify.ErrInvalidToken) {
			t.Errorf("%s: error %v", name, err)
		}
		// The server refuses them too.
		if _, err := admin().Inspect(ctx, &auth.InspectRequest{Token: token}); err == nil {
			t.Errorf("%s: the server took it", name)
		}
	}
}

// liveService is the middleware with the live server, in front of an HTTP server.
func liveService(t *testing.T, service string, opts ...verify.Option) *httptest.Server {
	base := []verify.Option{
		verify.WithAddress(server.Address), verify.WithAPIKey(server.AdminKey), verify.WithServiceName(service), quiet(t),
	}
	srv := httptest.NewServer(verify.Middleware(echo, append(base, opts...)...))
	t.Cleanup(srv.Close)
	return srv
}

// get sends GET path with the token (if any) to srv.
func get(t *testing.T, srv *httptest.Server, path, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rsp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	body, err := io.ReadAll(rsp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{rsp.StatusCode, string(body), rsp.Header}
}

// until polls check every 50 ms until it is true, and returns how long that took; it
// fails the test after limit.
func until(t *testing.T, limit time.Duration, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func TestLiveMiddleware(t *testing.T) {
	role := newRole(t)
	reader, other := newAccount(t, role), newAccount(t)
	service := unique("shop")
	createRule(t, rules.Rule{Scope: role, Resource: rules.Resource{Type: "api", Name: service, Endpoint: "/orders/*"}})
	ttl := 500 * time.Millisecond
	srv := liveService(t, service, verify.WithRulesTTL(ttl))

	if got := get(t, srv, "/orders/1", reader.token.AccessToken); got.code != 200 || got.body != "hello "+reader.id {
		t.Errorf("the reader: %+v", got)
	}
	got := get(t, srv, "/orders/1", "")
	wantError(t, got, 401, "api:"+service+":/orders/1 needs credentials")
	if got.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate %q", got.header.Get("WWW-Authenticate"))
	}
	wantError(t, get(t, srv, "/orders/1", reader.token.AccessToken[:40]), 401, "invalid token")
	wantError(t, get(t, srv, "/orders/1", other.token.AccessToken), 403, "is not allowed for this account")
	wantError(t, get(t, srv, "/admin/1", reader.token.AccessToken), 403, "is not allowed")

	// A new rule holds within the rules TTL (plus a request's time).
	rule := createRule(t, rules.Rule{Scope: "*", Resource: rules.Resource{Type: "api", Name: service, Endpoint: "/admin/*"}})
	took := until(t, 5*time.Second, "a new rule", func() bool {
		return get(t, srv, "/admin/1", other.token.AccessToken).code == 200
	})
	if took > ttl+time.Second {
		t.Errorf("a new rule held after %v, with rules TTL %v", took, ttl)
	}
	// So does a deleted one, and a denial.
	if _, err := admin().DeleteRule(testContext(t), &auth.DeleteRuleRequest{Id: rule.Id}); err != nil {
		t.Fatal(err)
	}
	took = until(t, 5*time.Second, "a deleted rule", func() bool {
		return get(t, srv, "/admin/1", other.token.AccessToken).code == 403
	})
	if took > ttl+time.Second {
		t.Errorf("a deleted rule held for %v, with rules TTL %v", took, ttl)
	}
	createRule(t, rules.Rule{Scope: role, Resource: rules.Resource{Type: "api", Name: service, Endpoint: "/orders/secret"}, Access: rules.Denied})
	until(t, 5*time.Second, "a denial", func() bool {
		return get(t, srv, "/orders/secret", reader.token.AccessToken).code == 403
	})
	if got := get(t, srv, "/orders/2", reader.token.AccessToken); got.code != 200 {
		t.Errorf("next to the denial: %+v", got)
	}

	// The Micro convention, as the server's own gateway endpoint maps it.
	createRule(t, rules.Rule{Scope: "*", Resource: rules.Resource{Type: "service", Name: service, Endpoint: "Items.List"}})
	until(t, 5*time.Second, "/v1/{service}/items/list", func() bool {
		return get(t, srv, "/v1/"+service+"/items/list", other.token.AccessToken).code == 200
	})
	wantError(t, get(t, srv, "/v1/"+service+"/list", other.token.AccessToken), 403, "service:"+service+":"+strings.ToUpper(service[:1])+service[1:]+".List")
}

func TestLiveKeyRotation(t *testing.T) {
	ctx := testContext(t)
	a := newAccount(t, newRole(t))
	v := liveVerifier(t)
	service := unique("rotating")
	createRule(t, rules.Rule{Scope: "*", Resource: rules.Resource{Type: "api", Name: service, Endpoint: "*"}})
	srv := liveService(t, service)

	tokens := []string{a.token.AccessToken}
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		before := header(t, tokens[len(tokens)-1])["kid"]
		for _, token := range tokens {
			if _, err := v.Verify(ctx, token); err != nil {
				t.Fatalf("before rotating to %s: %v", alg, err)
			}
		}
		if _, err := server.CLI(ctx, []string{"MICRO_USER_JWT_ALGORITHM=" + alg}, "keys", "rotate", "--now"); err != nil {
			t.Fatal(err)
		}
		// The server signs with the new key within about a second.
		until(t, 10*time.Second, "a token of the new key", func() bool {
			a.refresh(t)
			return header(t, a.token.AccessToken)["kid"] != before
		})
		if got := header(t, a.token.AccessToken)["alg"]; got != alg {
			t.Errorf("after rotating to %s the server signs with %v", alg, got)
		}
		tokens = append(tokens, a.token.AccessToken)
		// The verifier fetches the keys again for the new key id; the old tokens still verify.
		for i, token := range tokens {
			claims, err := v.Verify(ctx, token)
			if err != nil {
				t.Fatalf("after rotating to %s, token %d (%v): %v", alg, i, header(t, token)["alg"], err)
			}
			if claims.Subject != a.id {
				t.Errorf("claims %+v", claims)
			}
			if got := get(t, srv, "/x", token); got.code != 200 {
				t.Errorf("the middleware, after rotating to %s, token %d: %+v", alg, i, got)
			}
		}
	}
	keys, err := server.CLI(ctx, nil, "keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("keys list:\n%s", keys)
}

func TestLiveDecisionsAgreeWithTheServer(t *testing.T) {
	ctx := testContext(t)
	role := newRole(t)
	svc := unique("agree")
	for _, r := range []rules.Rule{
		{Scope: role, Resource: rules.Resource{Type: "api", Name: svc, Endpoint: "/orders/*"}},
		{Scope: "*", Resource: rules.Resource{Type: "service", Name: svc, Endpoint: "*"}, Priority: 1},
		{Scope: role, Resource: rules.Resource{Type: "service", Name: svc, Endpoint: "Orders.Delete"}, Access: rules.Denied, Priority: 1},
		{Scope: "", Resource: rules.Resource{Type: "api", Name: svc, Endpoint: "/public"}},
		{Scope: "+", Resource: rules.Resource{Type: "api", Name: svc, Endpoint: "/any"}},
		{Scope: "", Resource: rules.Resource{Type: "service", Name: svc, Endpoint: "Orders.Secret"}, Access: rules.Denied, Priority: 5},
		{Scope: "*", Resource: rules.Resource{Type: "*", Name: svc, Endpoint: "/v2/*"}, Priority: -1},
		{Scope: role, Resource: rules.Resource{Type: "api", Name: "*", Endpoint: "/v2/private/*"}, Access: rules.Denied},
	} {
		createRule(t, r)
	}
	resources := []rules.Resource{
		{Type: "api", Name: svc, Endpoint: "/orders/1"},
		{Type: "api", Name: svc, Endpoint: "/orders"},
		{Type: "api", Name: svc, Endpoint: "/ordersx"},
		{Type: "service", Name: svc, Endpoint: "Orders.List"},
		{Type: "service", Name: svc, Endpoint: "Orders.Delete"},
		{Type: "service", Name: svc, Endpoint: "Orders.Secret"},
		{Type: "api", Name: svc, Endpoint: "/public"},
		{Type: "api", Name: svc, Endpoint: "/any"},
		{Type: "api", Name: svc, Endpoint: "/v2/items"},
		{Type: "api", Name: svc, Endpoint: "/v2/private/x"},
		{Type: "api", Name: "elsewhere", Endpoint: "/v2/private/x"},
		{Type: "service", Name: "auth", Endpoint: "Auth.Token"},
		{Type: "service", Name: "auth", Endpoint: "Auth.Inspect"},
		{Type: "service", Name: "auth", Endpoint: "Rules.Create"},
		{Type: "service", Name: "user", Endpoint: "User.Read"},
	}
	holder, plain, admins := newAccount(t, role), newAccount(t), newAccount(t, "admin")
	callers := map[string]string{"nobody": "", "role holder": holder.token.AccessToken, "plain": plain.token.AccessToken, "admin": admins.token.AccessToken}

	listed, err := admin().ListRules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	set := rules.NewRuleSet("micro", append(rules.BuiltinRules(), listed.Rules...))
	v := liveVerifier(t)
	// The middleware, with the resource named in a header.
	srv := liveService(t, svc, verify.WithVerifier(v), verify.WithResourceMapper(func(r *http.Request) rules.Resource {
		resource, _ := rules.ParseResource(r.URL.Query().Get("resource"))
		return resource
	}))

	agreed := 0
	for name, token := range callers {
		var subject *rules.Subject
		if token != "" {
			claims, err := v.Verify(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			subject = claims.RuleSubject()
		}
		for _, resource := range resources {
			verdict, err := admin().Verify(ctx, &auth.VerifyRequest{Token: token, Resource: resource})
			if err != nil {
				t.Fatal(err)
			}
			local := set.Allows(subject, resource)
			if local != verdict.Allowed {
				t.Errorf("%s on %v: the server says %v, the SDK %v", name, resource, verdict.Allowed, local)
			}
			status := get(t, srv, "/?resource="+url.QueryEscape(resource.String()), token).code
			want := map[bool]int{true: 200, false: 403}[verdict.Allowed]
			if !verdict.Allowed && token == "" {
				want = 401
			}
			if status != want {
				t.Errorf("%s on %v: the middleware answered %d, want %d", name, resource, status, want)
			}
			agreed++
		}
	}
	t.Logf("%d decisions agree", agreed)
}

// After Logout, the access token minted from that session is refused by a local verifier
// within the revocations' max-age plus the server's refresh interval (1 s each in the
// test server, so a few seconds). Skipped against a server that publishes no
// revocations yet (404 at /.well-known/revocations).
func TestLiveLogoutRevokesTheSessionsTokens(t *testing.T) {
	ctx := testContext(t)
	rsp, err := http.Get(server.Address + verify.RevocationsPath + "?iss=micro")
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode == http.StatusNotFound {
		t.Skip("this micro-user publishes no revocations")
	}
	client := microuser.NewClient(microuser.WithAddress(server.Address), microuser.WithToken(server.AdminKey))
	users := user.NewUserService(client)
	name := unique("revoked")
	if _, err := users.Create(ctx, &user.CreateRequest{Username: name, Email: name + "@example.com", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	login, err := users.Login(ctx, &user.LoginRequest{Username: name, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := admin().Token(ctx, &auth.TokenRequest{SessionId: login.Session.Id})
	if err != nil {
		t.Fatal(err)
	}
	v := liveVerifier(t)
	claims, err := v.Verify(ctx, tokens.Token.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if claims.SessionID == "" || claims.SessionID == login.Session.Id {
		t.Errorf("sid %q: a public handle, not the session id", claims.SessionID)
	}
	if _, err := users.Logout(ctx, &user.LogoutRequest{SessionId: login.Session.Id}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = v.Verify(ctx, tokens.Token.AccessToken)
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !errors.Is(err, verify.ErrInvalidToken) || !strings.Contains(err.Error(), "token revoked") {
		t.Errorf("after Logout: %v, want the token revoked", err)
	}
}
