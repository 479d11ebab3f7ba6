package verify_test

// The middleware against a stand-in micro-user (JWKS and Rules.List): who gets through,
// the error answers, rule changes, failing closed, the resource mapping.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/micro-user/micro-user/sdk/go/rules"
	"github.com/micro-user/micro-user/sdk/go/verify"
)

// echo answers with who the middleware said the caller is.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if claims, ok := verify.FromContext(r.Context()); ok {
		fmt.Fprintf(w, "hello %s", claims.Subject)
		return
	}
	io.WriteString(w, "hello nobody")
})

type answer struct {
	code   int
	body   string
	header http.Header
}

// do sends a GET for path with the Authorization header (if any) through h.
func do(h http.Handler, path, authorization string) answer {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Body.String(), rec.Header()}
}

func bearer(token string) string { return "Bearer " + token }

// wantError checks an error answer of the middleware: micro-user's JSON shape.
func wantError(t *testing.T, got answer, code int, detail string) {
	t.Helper()
	if got.code != code {
		t.Fatalf("answer %d %s, want %d", got.code, got.body, code)
	}
	var body struct {
		ID     string `json:"id"`
		Code   int    `json:"code"`
		Detail string `json:"detail"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(got.body), &body); err != nil {
		t.Fatalf("body %q: %v", got.body, err)
	}
	if body.ID != "auth" || body.Code != code || body.Status != http.StatusText(code) || !strings.Contains(body.Detail, detail) {
		t.Errorf("body %+v, want code %d and a detail with %q", body, code, detail)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
}

var orderRules = []rules.Rule{
	{Id: "read", Scope: "reader", Resource: rules.Resource{Type: "api", Name: "orders", Endpoint: "/orders/*"}, Access: rules.Granted},
	{Id: "public", Scope: "", Resource: rules.Resource{Type: "api", Name: "orders", Endpoint: "/status"}, Access: rules.Granted},
	{Id: "list", Scope: "*", Resource: rules.Resource{Type: "service", Name: "orders", Endpoint: "Orders.List"}, Access: rules.Granted},
	{Id: "no-banned", Scope: "banned", Resource: rules.Resource{Type: "*", Name: "*", Endpoint: "*"}, Access: rules.Denied, Priority: 10},
}

func newMiddleware(t *testing.T, s *standIn, c *clock, opts ...verify.Option) http.Handler {
	base := []verify.Option{verify.WithAddress(s.URL), verify.WithAPIKey("muk_test"), verify.WithServiceName("orders"), c.option(), quiet(t)}
	return verify.Middleware(echo, append(base, opts...)...)
}

func TestMiddlewareDecides(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.rules = orderRules
	h := newMiddleware(t, s, c)
	token := func(namespace string, scopes ...string) string {
		body := claims(c.now(), scopes...)
		body["iss"] = namespace
		return bearer(k.token(t, nil, body))
	}

	if got := do(h, "/status", ""); got.code != 200 || got.body != "hello nobody" {
		t.Errorf("a public resource: %+v", got)
	}
	got := do(h, "/orders/42", "")
	wantError(t, got, 401, "api:orders:/orders/42 needs credentials")
	if got.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate %q", got.header.Get("WWW-Authenticate"))
	}
	if got := do(h, "/orders/42", token("micro", "reader")); got.code != 200 || got.body != "hello svc-1" {
		t.Errorf("a reader: %+v", got)
	}
	wantError(t, do(h, "/orders/42", token("micro", "writer")), 403, "api:orders:/orders/42 is not allowed for this account")
	wantError(t, do(h, "/orders/42", token("other", "reader")), 403, "not allowed")
	wantError(t, do(h, "/orders/42", token("micro", "reader", "banned")), 403, "not allowed")
	// The Micro convention: /v1/orders/list is service:orders:Orders.List.
	if got := do(h, "/v1/orders/list", token("micro")); got.code != 200 {
		t.Errorf("/v1/orders/list: %+v", got)
	}
	wantError(t, do(h, "/v1/orders/list", token("other")), 403, "service:orders:Orders.List")
	// The built-in rules: admin may do anything in its namespace (even when banned).
	if got := do(h, "/anything", token("micro", "admin", "banned")); got.code != 200 {
		t.Errorf("admin: %+v", got)
	}
	wantError(t, do(h, "/anything", token("other", "admin")), 403, "not allowed")

	// Bad credentials are a 401, even for a public resource.
	expired := claims(c.now().Add(-time.Hour), "reader")
	for name, authorization := range map[string]string{
		"expired":   bearer(k.token(t, nil, expired)),
		"forged":    bearer(newKey(t, "EdDSA").token(t, map[string]any{"kid": k.kid}, claims(c.now()))),
		"malformed": "Bearer not-a-token",
		"basic":     "Basic eDptdWtfdGVzdA==",
		"empty":     "Bearer ",
	} {
		for _, path := range []string{"/orders/42", "/status"} {
			got := do(h, path, authorization)
			wantError(t, got, 401, "")
			if got.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
				t.Errorf("%s: WWW-Authenticate %q", name, got.header.Get("WWW-Authenticate"))
			}
		}
	}
	wantError(t, do(h, "/orders/42", bearer(k.token(t, nil, expired))), 401, "invalid token: expired")
}

func TestMiddlewareFollowsRuleChanges(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.rules = orderRules
	h := newMiddleware(t, s, c, verify.WithRulesTTL(5*time.Second))
	writer := bearer(k.token(t, nil, claims(epoch.Add(time.Hour), "writer")))
	c.advance(time.Hour)
	wantError(t, do(h, "/orders/42", writer), 403, "not allowed")

	s.set(func(s *standIn) {
		s.rules = append(append([]rules.Rule(nil), orderRules...),
			rules.Rule{Id: "write", Scope: "writer", Resource: rules.Resource{Type: "api", Name: "orders", Endpoint: "/orders/*"}, Access: rules.Granted})
	})
	c.advance(4 * time.Second)
	wantError(t, do(h, "/orders/42", writer), 403, "not allowed") // the rules are 4 s old: still used
	c.advance(time.Second)
	if got := do(h, "/orders/42", writer); got.code != 200 {
		t.Errorf("after the TTL: %+v", got)
	}
	if n := s.rulesCalls.Load(); n != 2 {
		t.Errorf("Rules.List was called %d times", n)
	}

	// The server goes away: the last rules are kept.
	s.set(func(s *standIn) { s.down = true })
	c.advance(time.Minute)
	if got := do(h, "/orders/42", writer); got.code != 200 {
		t.Errorf("with the server away: %+v", got)
	}
}

func TestMiddlewareFailsClosed(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.rules = orderRules
	s.down = true
	h := newMiddleware(t, s, c)
	reader := bearer(k.token(t, nil, claims(epoch, "reader")))
	for _, authorization := range []string{"", reader} {
		got := do(h, "/status", authorization)
		wantError(t, got, 503, "access cannot be checked now")
		if got.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q", got.header.Get("Retry-After"))
		}
	}
	s.set(func(s *standIn) { s.down = false })
	c.advance(verify.MinFetchInterval)
	if got := do(h, "/orders/1", reader); got.code != 200 {
		t.Errorf("once the server is back: %+v", got)
	}

	// A key that may not read the rules: 503 too (and the log says why).
	s2 := newStandIn(t, k)
	h = newMiddleware(t, s2, c, verify.WithAPIKey("muk_wrong"))
	wantError(t, do(h, "/status", ""), 503, "")
}

func TestMiddlewareOptions(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.rules = []rules.Rule{{Id: "r", Scope: "*", Resource: rules.Resource{Type: "http", Name: "shop", Endpoint: "GET /items"}}}
	// A resource mapper of one's own; public paths; a shared verifier.
	verifier := verify.NewVerifier(verify.WithAddress(s.URL), c.option(), quiet(t))
	h := verify.Middleware(echo, verify.WithAddress(s.URL), verify.WithAPIKey("muk_test"), c.option(), quiet(t),
		verify.WithVerifier(verifier),
		verify.WithResourceMapper(func(r *http.Request) rules.Resource {
			return rules.Resource{Type: "http", Name: "shop", Endpoint: r.Method + " " + r.URL.Path}
		}),
		verify.WithPublicPaths("/healthz", "/docs/*"),
	)
	token := bearer(k.token(t, nil, claims(epoch)))
	if got := do(h, "/items", token); got.code != 200 || got.body != "hello svc-1" {
		t.Errorf("mapped: %+v", got)
	}
	wantError(t, do(h, "/other", token), 403, "http:shop:GET /other")
	for _, path := range []string{"/healthz", "/docs/", "/docs/a/b"} {
		if got := do(h, path, "Bearer garbage"); got.code != 200 || got.body != "hello nobody" {
			t.Errorf("public %s: %+v", path, got)
		}
	}
	wantError(t, do(h, "/docs", ""), 401, "")
	wantError(t, do(h, "/healthz/x", ""), 401, "")
	if s.jwksCalls.Load() != 1 {
		t.Errorf("the keys were fetched %d times", s.jwksCalls.Load())
	}

	// Another namespace's rules.
	h = newMiddleware(t, s, c, verify.WithNamespace("shop"), verify.WithResourceMapper(func(r *http.Request) rules.Resource {
		return rules.Resource{Type: "http", Name: "shop", Endpoint: "GET /items"}
	}))
	shopToken := claims(epoch)
	shopToken["iss"] = "shop"
	if got := do(h, "/", bearer(k.token(t, nil, shopToken))); got.code != 200 {
		t.Errorf("namespace shop: %+v", got)
	}
	wantError(t, do(h, "/", token), 403, "")
}

func TestMiddlewareNeedsAKeyAndAName(t *testing.T) {
	t.Setenv("MICRO_USER_KEY", "")
	for name, opts := range map[string][]verify.Option{
		"API key":     {verify.WithServiceName("orders")},
		"ServiceName": {verify.WithAPIKey("muk_x")},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), name) {
					t.Errorf("without %s: panic %v", name, r)
				}
			}()
			verify.Middleware(echo, opts...)
		}()
	}
	t.Setenv("MICRO_USER_KEY", "muk_from_env")
	verify.Middleware(echo, verify.WithServiceName("orders")) // the key from the environment
}

func TestResourceFor(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/orders/list":            "service:orders:Orders.List",
		"/v1/Orders/list":            "service:orders:Orders.List",
		"/v1/orders/Orders/Create":   "service:orders:Orders.Create",
		"/v1/auth/Rules/List":        "service:auth:Rules.List",
		"/v1/orders/list/":           "service:orders:Orders.List",
		"/v1/orders":                 "api:shop:/v1/orders",
		"/v1/a/b/c/d":                "api:shop:/v1/a/b/c/d",
		"/v2/orders/list":            "api:shop:/v2/orders/list",
		"/orders/42":                 "api:shop:/orders/42",
		"":                           "api:shop:/",
		"/":                          "api:shop:/",
		"/v1/user/updatePassword":    "service:user:User.UpdatePassword",
		"/v1/orders/handler/methodX": "service:orders:Handler.MethodX",
	} {
		if got, err := verify.ResourceFor(path, "shop"); err != nil || got.String() != want {
			t.Errorf("ResourceFor(%q) = %s, %v; want %s", path, got, err, want)
		}
	}
	// Micro-style paths whose names break the identifier patterns are refused, never
	// judged as api paths: a rule about Orders.Delete cannot be stepped around.
	for _, path := range []string{"/v1/élan/list", "/v1/orders/delete.", "/v1/orders/delete ", "/v1/orders/Orders.Delete", "/v1/-x/list"} {
		if got, err := verify.ResourceFor(path, "shop"); !errors.Is(err, rules.ErrAmbiguousPath) {
			t.Errorf("ResourceFor(%q) = %s, %v; want it refused", path, got, err)
		}
	}
}

// doTarget sends a GET whose request line carries target exactly as given through h.
func doTarget(h http.Handler, target, authorization string) answer {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RequestURI = target
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Body.String(), rec.Header()}
}

// The attacker's paths of the review: judged by their canonical form, or refused.
func TestMiddlewareJudgesTheCanonicalPath(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	s.rules = []rules.Rule{
		{Id: "public", Scope: "", Resource: rules.Resource{Type: "api", Name: "orders", Endpoint: "/public/*"}, Access: rules.Granted},
		{Id: "orders", Scope: "", Resource: rules.Resource{Type: "service", Name: "orders", Endpoint: "*"}, Access: rules.Granted},
		{Id: "no-delete", Scope: "", Resource: rules.Resource{Type: "service", Name: "orders", Endpoint: "Orders.Delete"}, Access: rules.Denied, Priority: 10},
	}
	var seen []string
	h := verify.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Path)
		io.WriteString(w, "ok")
	}), verify.WithAddress(s.URL), verify.WithAPIKey("muk_test"), verify.WithServiceName("orders"), c.option(), quiet(t),
		verify.WithPublicPaths("/docs/*"))

	for _, target := range []string{"/public/page", "/public//page", "/public/./page", "/public/%70age", "/public/page?x=/../admin", "/docs/a"} {
		if got := doTarget(h, target, ""); got.code != 200 {
			t.Errorf("%s: %+v", target, got)
		}
	}
	// The handler sees the path that was judged.
	if want := []string{"/public/page", "/public/page", "/public/page", "/public/page", "/public/page", "/docs/a"}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("the handler saw %q", seen)
	}
	// Climbing out of /public is a request for what it climbs to.
	for _, target := range []string{"/public/../admin/secret", "/public/%2e%2e/admin/secret", "/public/%2E./admin/secret", "//x/public/../../admin/secret"} {
		wantError(t, doTarget(h, target, ""), 401, "api:orders:/admin/secret needs credentials")
	}
	// What stays ambiguous is refused, public or not.
	for _, target := range []string{
		"/public/..%2fadmin/secret", "/public%2F..%2Fadmin", "/public/..;/admin", `/public/\..\admin`, "/public/..%5cadmin",
		"/public/%00/admin", "/public/%0a", "/public/%zz", "http://evil.example/public/page", "*", "/docs/..%2f..%2fadmin",
		"/docs/a;b",
	} {
		wantError(t, doTarget(h, target, ""), 400, "ambiguous request path")
	}
	// A Micro endpoint is one resource, whatever its case or decoration.
	if got := doTarget(h, "/v1/orders/list", ""); got.code != 200 {
		t.Errorf("Orders.List: %+v", got)
	}
	for _, target := range []string{"/v1/orders/delete", "/v1/orders/DELETE", "/v1/Orders/Delete/", "/v1/orders/del%65te", "/v1/orders/list/../delete"} {
		wantError(t, doTarget(h, target, ""), 401, "service:orders:Orders.")
	}
	for _, target := range []string{"/v1/orders/delete.", "/v1/orders/delete%20", "/v1/orders/delete;x", "/v1/orders/Orders.Delete"} {
		wantError(t, doTarget(h, target, ""), 400, "ambiguous request path")
	}
}

// Public paths are matched against the canonical path: /public/../admin is not public.
func TestPublicPathsAreCanonical(t *testing.T) {
	k := newKey(t, "EdDSA")
	s, c := newStandIn(t, k), newClock(epoch)
	h := newMiddleware(t, s, c, verify.WithPublicPaths("/public/*", "/healthz"))
	if got := doTarget(h, "/public/page", ""); got.code != 200 {
		t.Errorf("public: %+v", got)
	}
	if got := doTarget(h, "/public/a/../b", ""); got.code != 200 {
		t.Errorf("still public: %+v", got)
	}
	for _, target := range []string{"/public/../admin", "/public/%2e%2e/admin", "/public/a/../../admin", "/public/.."} {
		wantError(t, doTarget(h, target, ""), 401, "needs credentials")
	}
	wantError(t, doTarget(h, "/public/..%2fadmin", ""), 400, "an encoded '/'")
	if got := doTarget(h, "//healthz", ""); got.code != 200 {
		t.Errorf("//healthz is /healthz: %+v", got)
	}
	// Over real HTTP, the request line as sent (as curl --path-as-is sends it).
	srv := httptest.NewServer(h)
	defer srv.Close()
	for target, want := range map[string]int{"/public/page": 200, "/public/../admin": 401, "/public/%2e%2e/admin": 401, "/public/..%2fadmin": 400, "/public/..;/admin": 400} {
		if got := rawGet(t, srv.Listener.Addr().String(), target); got != want {
			t.Errorf("GET %s over HTTP: %d, want %d", target, got, want)
		}
	}
}

// rawGet sends "GET target HTTP/1.1" as it is and returns the status code.
func rawGet(t *testing.T, addr, target string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
	rsp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	return rsp.StatusCode
}

func TestContext(t *testing.T) {
	ctx := testContext(t)
	if _, ok := verify.FromContext(ctx); ok {
		t.Error("claims in an empty context")
	}
	claims := &verify.Claims{Subject: "x"}
	if got, ok := verify.FromContext(verify.NewContext(ctx, claims)); !ok || got != claims {
		t.Errorf("FromContext = %v, %v", got, ok)
	}
	if _, ok := verify.FromContext(verify.NewContext(ctx, nil)); ok {
		t.Error("nil claims found")
	}
}
