package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/auth"
	"github.com/micro-user/micro-user/sdk/go/rules"
)

// ErrorID is the id of the middleware's error answers, as of micro-user's own.
const ErrorID = "auth"

// WithVerifier makes the middleware check tokens with v, shared with other code
// (middleware only). Without it the middleware makes its own, with the same options.
func WithVerifier(v *Verifier) Option {
	return func(c *config) { c.verifier = v }
}

// WithAPIKey sets the API key (or token) the middleware reads the rules with
// (middleware only): it must be allowed to call Rules.List in the namespace. The
// default is $MICRO_USER_KEY; the middleware needs one. The keys (JWKS) are public.
func WithAPIKey(key string) Option {
	return func(c *config) { c.key, c.keySet = key, true }
}

// WithServiceName names your service in the resources of the default mapping
// (middleware only): a request for a path that is not /v1/{service}/{endpoint} is
// api:{name}:{path}. The middleware needs it, or [WithResourceMapper].
func WithServiceName(name string) Option {
	return func(c *config) { c.service = name }
}

// WithNamespace sets the namespace whose rules decide (middleware only; default
// "micro", the server's default namespace). It must be the namespace of the API key,
// whose Rules.List answers with that namespace's rules.
func WithNamespace(namespace string) Option {
	return func(c *config) { c.namespace = namespace }
}

// WithResourceMapper maps each request to the resource the rules decide on
// (middleware only), instead of [ResourceFor] with the service name. The request it
// gets has the canonical path in r.URL.Path ([RequestPath]).
func WithResourceMapper(mapper func(*http.Request) rules.Resource) Option {
	return func(c *config) { c.mapper = mapper }
}

// WithRulesTTL sets how long the rules are used before they are fetched again
// (middleware only; default [DefaultRulesTTL]): a change of the rules holds here
// within about that long. A failed refresh keeps the last rules.
func WithRulesTTL(ttl time.Duration) Option {
	return func(c *config) {
		if ttl > 0 {
			c.rulesTTL = ttl
		}
	}
}

// WithPublicPaths lets requests for these paths through unchecked, without an identity
// (middleware only): an exact path, or a prefix when it ends in "/*" ("/docs/*"). They
// are compared with the canonical path of the request ([RequestPath]), so
// /docs/../admin is /admin, not a public path.
func WithPublicPaths(paths ...string) Option {
	return func(c *config) { c.publicPaths = append(c.publicPaths, paths...) }
}

type contextKey struct{}

// NewContext returns ctx carrying claims, as the middleware passes them to the handler.
func NewContext(ctx context.Context, claims *Claims) context.Context {
	return context.WithValue(ctx, contextKey{}, claims)
}

// FromContext returns the claims of the caller's token, which the middleware put in the
// request's context; false when the request came without a token (the rules let it
// through anyway) or did not pass the middleware.
func FromContext(ctx context.Context) (*Claims, bool) {
	claims, ok := ctx.Value(contextKey{}).(*Claims)
	return claims, ok && claims != nil
}

// ResourceFor is what the rules see a canonical request path (from [RequestPath]) as,
// in the default mapping: [rules.PathResource] with the service name as the API name.
// The Micro convention first, as at micro-user's gateway endpoint:
// /v1/{svc}/{endpoint} is service:{svc}:{Svc}.{Endpoint} and
// /v1/{svc}/{handler}/{method} is service:{svc}:{Handler}.{Method} (so /v1/orders/list
// is service:orders:Orders.List); a Micro-style path whose names break the identifier
// patterns (/v1/orders/delete.) is an error wrapping [rules.ErrAmbiguousPath]. Any
// other path is api:{service}:{path}.
func ResourceFor(path, service string) (rules.Resource, error) {
	return rules.PathResource(path, service)
}

// RequestPath is the canonical path of the request's target as it was sent
// (r.RequestURI, else r.URL.EscapedPath() for a request made in code), by
// [rules.CanonicalPath]: not the decoded r.URL.Path, in which "%2e%2e" became ".." and
// "%2f" a "/". An ambiguous target is an error wrapping [rules.ErrAmbiguousPath].
func RequestPath(r *http.Request) (string, error) {
	target := r.RequestURI
	if target == "" && r.URL != nil {
		target = r.URL.EscapedPath()
	}
	return rules.CanonicalPath(target)
}

// bearerToken is the token of an "Authorization: Bearer <token>" header value.
func bearerToken(authorization string) (string, error) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", invalid("unsupported Authorization header: use 'Bearer <access token>'")
	}
	return token, nil
}

func isPublic(path string, public []string) bool {
	for _, p := range public {
		if strings.HasSuffix(p, "/*") {
			if strings.HasPrefix(path, p[:len(p)-1]) {
				return true
			}
		} else if path == p {
			return true
		}
	}
	return false
}

type middleware struct {
	next     http.Handler
	verifier *Verifier
	rules    *cached[*rules.RuleSet]
	service  string
	mapper   func(*http.Request) rules.Resource
	public   []string
	logf     func(string, ...any)
}

// Middleware lets a request reach next only when micro-user's rules allow it.
//
// For each request it makes the path canonical ([RequestPath]: the raw target, decoded
// once, dot segments removed) and refuses an ambiguous target with 400 (an encoded "/"
// or "\", a ";" parameter, a control character, an absolute-form target, a Micro-style
// path with broken names); the handler gets the canonical path in r.URL.Path. It reads
// the bearer access token and checks it locally (see [Verifier]); maps the request to a
// resource ([WithResourceMapper], else [ResourceFor] with [WithServiceName]); and
// evaluates the namespace's rules (fetched with Rules.List, with the key of
// [WithAPIKey], plus [rules.BuiltinRules]), the same evaluation the server runs. Allowed
// requests reach next with the token's claims in their context ([FromContext]). The
// others get micro-user's error shape {"id": "auth", "code", "detail", "status"}: 400
// for an ambiguous target, 401 with "WWW-Authenticate: Bearer" for a request without a
// valid token (malformed, forged, expired, revoked, or none where one is needed), 403 for a valid token that is not allowed, and 503 while micro-user cannot
// be reached and no keys or rules were fetched yet: it fails closed.
//
// The rules are fetched at the first request and again when they are older than
// [WithRulesTTL] (2 seconds): a changed rule holds within about that long. A failed
// refresh keeps the last rules and is logged ([WithErrorLog]).
//
// It panics without an API key (WithAPIKey or $MICRO_USER_KEY), or without a
// service name or resource mapper: the configuration is wrong.
func Middleware(next http.Handler, opts ...Option) http.Handler {
	c := newConfig(opts)
	if c.key == "" {
		panic("verify.Middleware needs an API key to read the rules: WithAPIKey, or $MICRO_USER_KEY")
	}
	if c.service == "" && c.mapper == nil {
		panic("verify.Middleware needs WithServiceName (or WithResourceMapper) to name resources")
	}
	m := &middleware{
		next:     next,
		verifier: c.verifier,
		service:  c.service,
		mapper:   c.mapper,
		public:   c.publicPaths,
		logf:     c.errorLog.Printf,
	}
	if m.verifier == nil {
		m.verifier = newVerifier(c)
	}
	service := auth.NewAuthService(microuser.NewClient(
		microuser.WithAddress(c.address),
		microuser.WithToken(c.key),
		microuser.WithHTTPClient(c.httpClient),
		microuser.WithTimeout(0), // the cache bounds the fetch
	))
	namespace := c.namespace
	fetch := func(ctx context.Context) (*rules.RuleSet, error) {
		rsp, err := service.ListRules(ctx, nil)
		if err != nil {
			return nil, err
		}
		return rules.NewRuleSet(namespace, append(rules.BuiltinRules(), rsp.Rules...)), nil
	}
	m.rules = newCached("rules", fetch, c.rulesTTL, MinFetchInterval, c.timeout, c.now, c.errorLog.Printf)
	return m
}

func (m *middleware) resource(r *http.Request) (rules.Resource, error) {
	if m.mapper != nil {
		return m.mapper(r), nil
	}
	return ResourceFor(r.URL.Path, m.service)
}

// withPath is r with path (canonical, decoded) as its URL's path: the handler, and a
// resource mapper, see the path that was judged.
func withPath(r *http.Request, path string) *http.Request {
	if r.URL.Path == path && r.URL.RawPath == "" {
		return r
	}
	u := *r.URL
	u.Path, u.RawPath = path, ""
	clone := r.WithContext(r.Context())
	clone.URL = &u
	return clone
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The canonical path of the raw target decides, and an ambiguous one is refused
	// whatever the rules say: /public/..%2fadmin is neither public nor anything else.
	path, err := RequestPath(r)
	if err != nil {
		answer(w, http.StatusBadRequest, err.Error())
		return
	}
	r = withPath(r, path)
	if isPublic(path, m.public) {
		m.next.ServeHTTP(w, r)
		return
	}
	resource, err := m.resource(r)
	if err != nil {
		answer(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	var claims *Claims
	if authorization := r.Header.Get("Authorization"); authorization != "" {
		var token string
		if token, err = bearerToken(authorization); err == nil {
			claims, err = m.verifier.Verify(ctx, token)
		}
	}
	var set *rules.RuleSet
	if err == nil {
		set, err = m.rules.current(ctx)
	}
	switch {
	case errors.Is(err, ErrInvalidToken):
		answer(w, http.StatusUnauthorized, err.Error(), "WWW-Authenticate", `Bearer error="invalid_token"`)
		return
	case err != nil:
		m.logf("micro-user: denied a request: %v", err)
		answer(w, http.StatusServiceUnavailable, "access cannot be checked now", "Retry-After", "1")
		return
	}
	var subject *rules.Subject
	if claims != nil {
		subject = claims.RuleSubject()
	}
	switch {
	case set.Allows(subject, resource):
		if claims != nil {
			r = r.WithContext(NewContext(ctx, claims))
		}
		m.next.ServeHTTP(w, r)
	case claims == nil:
		answer(w, http.StatusUnauthorized, resource.String()+" needs credentials: send 'Authorization: Bearer <access token>'",
			"WWW-Authenticate", "Bearer")
	default:
		answer(w, http.StatusForbidden, resource.String()+" is not allowed for this account")
	}
}

// answer writes an error in micro-user's shape: {id, code, detail, status}.
func answer(w http.ResponseWriter, code int, detail string, header ...string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<access token>" stays as it is
	_ = enc.Encode(microuser.Error{ID: ErrorID, Code: code, Detail: detail, Status: http.StatusText(code)})
	body := bytes.TrimRight(buf.Bytes(), "\n")
	h := w.Header()
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
