package microuser_test

// Tests of the Client against stand-in servers (httptest): what goes on the wire, how
// answers and failures come back. The user package's tests run against a live server.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
)

// seen is one request as a stand-in server received it.
type seen struct {
	method, path string
	header       http.Header
	body         map[string]any
}

// standIn serves status and body to every request and records what it got.
func standIn(t *testing.T, status int, body string) (*httptest.Server, *seen) {
	t.Helper()
	got := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.header = r.Method, r.URL.Path, r.Header.Clone()
		data, _ := io.ReadAll(r.Body)
		got.body = nil
		if err := json.Unmarshal(data, &got.body); err != nil {
			t.Errorf("request body %q is not a JSON object: %v", data, err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// noEnv clears the environment variables the client reads, for this test.
func noEnv(t *testing.T) {
	t.Setenv(microuser.AddressEnv, "")
	t.Setenv(microuser.TokenEnv, "")
}

func TestCallSendsJSONWithBearerToken(t *testing.T) {
	noEnv(t)
	srv, got := standIn(t, 200, `{"account": {"id": "42"}}`)
	c := microuser.NewClient(microuser.WithAddress(srv.URL), microuser.WithToken("muk_secret"))

	var rsp struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	req := map[string]string{"session_id": "s1"}
	if err := c.Call(context.Background(), "user", "ReadSession", req, &rsp); err != nil {
		t.Fatal(err)
	}
	if rsp.Account.ID != "42" {
		t.Errorf("answer decoded as %+v", rsp)
	}
	if got.method != http.MethodPost || got.path != "/v1/user/ReadSession" {
		t.Errorf("sent %s %s, want POST /v1/user/ReadSession", got.method, got.path)
	}
	if h := got.header.Get("Authorization"); h != "Bearer muk_secret" {
		t.Errorf("Authorization = %q", h)
	}
	if h := got.header.Get("Content-Type"); h != "application/json" {
		t.Errorf("Content-Type = %q", h)
	}
	if h := got.header.Get("User-Agent"); h != "micro-user-sdk-go/"+microuser.Version {
		t.Errorf("User-Agent = %q", h)
	}
	if got.body["session_id"] != "s1" || len(got.body) != 1 {
		t.Errorf("body = %v", got.body)
	}
}

func TestEnvironmentGivesDefaults(t *testing.T) {
	srv, got := standIn(t, 200, `{}`)
	t.Setenv(microuser.AddressEnv, srv.URL+"/")
	t.Setenv(microuser.TokenEnv, "muk_from_env")

	c := microuser.NewClient()
	if c.Address() != srv.URL {
		t.Errorf("Address() = %q, want %q (no trailing slash)", c.Address(), srv.URL)
	}
	if err := c.Call(context.Background(), "user", "Logout", nil, nil); err != nil {
		t.Fatal(err)
	}
	if h := got.header.Get("Authorization"); h != "Bearer muk_from_env" {
		t.Errorf("Authorization = %q", h)
	}
	if got.body == nil || len(got.body) != 0 {
		t.Errorf("a nil request should send {}, sent %v", got.body)
	}
}

func TestOptionsWinOverEnvironment(t *testing.T) {
	srv, got := standIn(t, 200, `{}`)
	t.Setenv(microuser.AddressEnv, "http://127.0.0.1:1")
	t.Setenv(microuser.TokenEnv, "muk_from_env")

	c := microuser.NewClient(microuser.WithAddress(srv.URL), microuser.WithToken("muk_option"))
	if err := c.Call(context.Background(), "user", "Delete", nil, nil); err != nil {
		t.Fatal(err)
	}
	if h := got.header.Get("Authorization"); h != "Bearer muk_option" {
		t.Errorf("Authorization = %q", h)
	}
}

func TestDefaultAddress(t *testing.T) {
	noEnv(t)
	if a := microuser.NewClient().Address(); a != "http://localhost:8080" {
		t.Errorf("default address %q", a)
	}
}

func TestNoTokenSendsNoAuthorization(t *testing.T) {
	noEnv(t)
	srv, got := standIn(t, 200, `{}`)
	if err := microuser.NewClient(microuser.WithAddress(srv.URL)).Call(context.Background(), "user", "List", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.header["Authorization"]; ok {
		t.Errorf("sent Authorization %q without a token", got.header.Get("Authorization"))
	}
}

func TestAddressWithPathPrefixAndHeaders(t *testing.T) {
	noEnv(t)
	srv, got := standIn(t, 200, `{}`)
	c := microuser.NewClient(
		microuser.WithAddress(srv.URL+"/micro/"),
		microuser.WithHeader("X-Request-Id", "checkout-42"),
		microuser.WithHeader("Authorization", "Basic ignored"),
		microuser.WithToken("muk_k"),
	)
	if err := c.Call(context.Background(), "user", "Read", map[string]string{"id": "1"}, nil); err != nil {
		t.Fatal(err)
	}
	if got.path != "/micro/v1/user/Read" {
		t.Errorf("path = %q", got.path)
	}
	if h := got.header.Get("X-Request-Id"); h != "checkout-42" {
		t.Errorf("X-Request-Id = %q", h)
	}
	if h := got.header.Values("Authorization"); len(h) != 1 || h[0] != "Bearer muk_k" {
		t.Errorf("Authorization = %q", h)
	}
}

func TestWithHTTPClient(t *testing.T) {
	noEnv(t)
	var calls int
	hc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		calls++
		return &http.Response{
			StatusCode: 200,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(`{"ok": true}`)),
			Request:    r,
		}, nil
	})}
	c := microuser.NewClient(microuser.WithAddress("http://micro-user.test"), microuser.WithHTTPClient(hc))
	var rsp struct{ OK bool }
	if err := c.Call(context.Background(), "user", "List", nil, &rsp); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !rsp.OK {
		t.Errorf("calls = %d, rsp = %+v", calls, rsp)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestErrorAnswer(t *testing.T) {
	noEnv(t)
	srv, _ := standIn(t, 404, `{"id": "user.read", "code": 404, "detail": "account not found", "status": "Not Found"}`)
	err := microuser.NewClient(microuser.WithAddress(srv.URL)).Call(context.Background(), "user", "Read", nil, nil)

	var apiErr *microuser.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not a *microuser.Error", err, err)
	}
	want := microuser.Error{ID: "user.read", Code: 404, Detail: "account not found", Status: "Not Found"}
	if *apiErr != want {
		t.Errorf("got %+v, want %+v", *apiErr, want)
	}
	if s := err.Error(); s != `account not found (404 Not Found, id "user.read")` {
		t.Errorf("Error() = %q", s)
	}
}

func TestErrorAnswerThatIsNotJSON(t *testing.T) {
	noEnv(t)
	cases := []struct {
		name   string
		status int
		body   string
		want   microuser.Error
	}{
		{"html page", 502, "<html>bad gateway</html>\n",
			microuser.Error{Code: 502, Detail: "<html>bad gateway</html>", Status: "Bad Gateway"}},
		{"empty body", 503, "",
			microuser.Error{Code: 503, Detail: "Service Unavailable", Status: "Service Unavailable"}},
		{"JSON of another shape", 429, `["slow down"]`,
			microuser.Error{Code: 429, Detail: `["slow down"]`, Status: "Too Many Requests"}},
		{"fields of the wrong type", 400, `{"id": 7, "detail": "bad", "code": "400"}`,
			microuser.Error{Code: 400, Detail: "bad", Status: "Bad Request"}},
		{"long body", 500, strings.Repeat("x", 2000),
			microuser.Error{Code: 500, Detail: strings.Repeat("x", 500), Status: "Internal Server Error"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := standIn(t, tc.status, tc.body)
			err := microuser.NewClient(microuser.WithAddress(srv.URL)).Call(context.Background(), "user", "Read", nil, nil)
			var apiErr *microuser.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T) is not a *microuser.Error", err, err)
			}
			if *apiErr != tc.want {
				t.Errorf("got %+v, want %+v", *apiErr, tc.want)
			}
		})
	}
}

func TestUnreadableAnswer(t *testing.T) {
	noEnv(t)
	srv, _ := standIn(t, 200, `<html>not micro-user</html>`)
	var rsp map[string]any
	err := microuser.NewClient(microuser.WithAddress(srv.URL)).Call(context.Background(), "user", "Read", nil, &rsp)
	if err == nil {
		t.Fatal("an HTML answer was accepted")
	}
	var apiErr *microuser.Error
	var tErr *microuser.TransportError
	if errors.As(err, &apiErr) || errors.As(err, &tErr) {
		t.Errorf("error %v is a %T, want a plain error", err, err)
	}
	if !strings.Contains(err.Error(), "unreadable answer") {
		t.Errorf("error %q", err)
	}
}

// closedAddress is an address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestTransportErrorOnClosedPort(t *testing.T) {
	noEnv(t)
	address := closedAddress(t)
	err := microuser.NewClient(microuser.WithAddress(address)).Call(context.Background(), "user", "Read", nil, nil)
	var tErr *microuser.TransportError
	if !errors.As(err, &tErr) {
		t.Fatalf("error %v (%T) is not a *microuser.TransportError", err, err)
	}
	if tErr.URL != address+"/v1/user/Read" {
		t.Errorf("URL = %q", tErr.URL)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("the cause %v is not kept", tErr.Err)
	}
	if !strings.HasPrefix(err.Error(), "micro-user: no answer from "+address) {
		t.Errorf("Error() = %q", err)
	}
}

// hanging is a server that answers only when the request is given up.
func hanging(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the whole body lets the server notice when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first
	return srv.URL
}

func TestContextDeadline(t *testing.T) {
	noEnv(t)
	c := microuser.NewClient(microuser.WithAddress(hanging(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Call(ctx, "user", "Read", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v (%T) is not context.DeadlineExceeded", err, err)
	}
	var tErr *microuser.TransportError
	if !errors.As(err, &tErr) {
		t.Errorf("error %T is not a *microuser.TransportError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

func TestContextCancelled(t *testing.T) {
	noEnv(t)
	c := microuser.NewClient(microuser.WithAddress(hanging(t)))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := c.Call(ctx, "user", "Read", nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v (%T) is not context.Canceled", err, err)
	}
}

func TestWithTimeout(t *testing.T) {
	noEnv(t)
	c := microuser.NewClient(microuser.WithAddress(hanging(t)), microuser.WithTimeout(100*time.Millisecond))
	if err := c.Call(context.Background(), "user", "Read", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v (%T) is not context.DeadlineExceeded", err, err)
	}
}

func TestBadAddress(t *testing.T) {
	noEnv(t)
	err := microuser.NewClient(microuser.WithAddress("http://bad host")).Call(context.Background(), "user", "Read", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "bad host") {
		t.Errorf("error %v", err)
	}
}
