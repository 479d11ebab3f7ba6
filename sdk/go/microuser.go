// Package microuser is the Go client of micro-user, a self-hosted user service that
// speaks the HTTP JSON API of the Micro platform's user service.
//
// A Client holds where the server is and which API key to send; the service packages
// (such as [github.com/micro-user/micro-user/sdk/go/user]) turn it into typed methods,
// one per endpoint:
//
//	client := microuser.NewClient(microuser.WithAddress("http://localhost:8080"), microuser.WithToken(key))
//	users := user.NewUserService(client)
//	rsp, err := users.Create(ctx, &user.CreateRequest{Email: "ada@example.com", Password: "correct horse"})
//
// An error answer of the server is returned as an [*Error] (branch on its ID), a call
// that got no answer as a [*TransportError]. The package uses only the standard library.
package microuser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Version is the version of this SDK, sent in the User-Agent header.
const Version = "0.1.0"

// DefaultAddress is the server address used when neither [WithAddress] nor the
// MICRO_USER_ADDRESS environment variable gives one.
const DefaultAddress = "http://localhost:8080"

// DefaultTimeout bounds every call unless [WithTimeout] says otherwise.
const DefaultTimeout = 10 * time.Second

// Environment variables read by [NewClient] as defaults; options override them.
const (
	// AddressEnv names the environment variable holding the server's base address.
	AddressEnv = "MICRO_USER_ADDRESS"
	// TokenEnv names the environment variable holding the API key (or token).
	TokenEnv = "MICRO_USER_KEY"
)

// errorBodyMax is how much of an error answer is read, and detailMax how much of a
// non-JSON error body becomes the Detail.
const (
	errorBodyMax = 64 << 10
	detailMax    = 500
)

// Client calls a micro-user server. It is safe for concurrent use by several goroutines;
// make one and share it. Create it with [NewClient].
type Client struct {
	address string
	token   string
	timeout time.Duration
	http    *http.Client
	header  http.Header
}

// Option configures a [Client] in [NewClient].
type Option func(*Client)

// WithAddress sets the server's base address, such as "http://localhost:8080" or
// "https://gateway.example.com/micro" (a path prefix is kept: calls go to
// {address}/v1/{service}/{endpoint}). It overrides MICRO_USER_ADDRESS.
func WithAddress(address string) Option {
	return func(c *Client) { c.address = address }
}

// WithToken sets the API key (or token) sent as "Authorization: Bearer <token>" with
// every call. It overrides MICRO_USER_KEY; an empty token sends no Authorization header.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithTimeout bounds each call, from sending the request to reading the whole answer
// (default [DefaultTimeout]). Zero or less means no bound other than the context's.
// A call that runs out of time returns a [*TransportError] wrapping
// context.DeadlineExceeded.
func WithTimeout(timeout time.Duration) Option {
	return func(c *Client) { c.timeout = timeout }
}

// WithHTTPClient makes the Client send its requests with hc, for proxies, custom TLS,
// retries or tests. The default is a client of its own over http.DefaultTransport.
// A nil hc keeps the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithHeader adds a header to every request, such as an X-Request-Id. It may be given
// several times; the Authorization header of [WithToken] wins over one set here.
func WithHeader(name, value string) Option {
	return func(c *Client) { c.header.Add(name, value) }
}

// NewClient returns a Client configured by opts. Without options it calls
// $MICRO_USER_ADDRESS (else [DefaultAddress]) with the key in $MICRO_USER_KEY.
func NewClient(opts ...Option) *Client {
	c := &Client{
		address: os.Getenv(AddressEnv),
		token:   os.Getenv(TokenEnv),
		timeout: DefaultTimeout,
		http:    &http.Client{},
		header:  make(http.Header),
	}
	if c.address == "" {
		c.address = DefaultAddress
	}
	for _, opt := range opts {
		opt(c)
	}
	c.address = strings.TrimRight(c.address, "/")
	return c
}

// Address returns the base address the Client calls, without a trailing slash.
func (c *Client) Address() string { return c.address }

// Call sends req as JSON to POST {address}/v1/{service}/{endpoint} and decodes the JSON
// answer into rsp (a pointer; nil discards the answer). A nil req sends {}.
//
// An error answer of the server (HTTP 4xx or 5xx) is returned as an [*Error]; a call
// that got no answer (connection refused, timeout, cancelled context, broken
// connection) as a [*TransportError]. An answer that is not the JSON expected (the
// address is not a micro-user server, say) is a plain error.
//
// Service packages such as user call it; use it directly for endpoints they lack.
func (c *Client) Call(ctx context.Context, service, endpoint string, req, rsp any) error {
	if ctx == nil {
		ctx = context.Background()
	}
	body := []byte("{}")
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("micro-user: encoding the request to %s.%s: %w", service, endpoint, err)
		}
		if !bytes.Equal(b, []byte("null")) {
			body = b
		}
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}

	url := c.address + "/v1/" + service + "/" + endpoint
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("micro-user: bad address %q: %w", c.address, err)
	}
	for name, values := range c.header {
		hreq.Header[name] = append([]string(nil), values...)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", "micro-user-sdk-go/"+Version)
	}
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}

	hrsp, err := c.http.Do(hreq)
	if err != nil {
		return &TransportError{URL: url, Err: err}
	}
	defer hrsp.Body.Close()

	if hrsp.StatusCode >= 400 {
		data, err := io.ReadAll(io.LimitReader(hrsp.Body, errorBodyMax))
		if err != nil {
			return &TransportError{URL: url, Err: err}
		}
		return errorFromAnswer(hrsp.StatusCode, data)
	}
	data, err := io.ReadAll(hrsp.Body)
	if err != nil {
		return &TransportError{URL: url, Err: err}
	}
	if rsp == nil {
		return nil
	}
	if err := json.Unmarshal(data, rsp); err != nil {
		return fmt.Errorf("micro-user: unreadable answer from %s (HTTP %d): is the address a micro-user server? %w",
			url, hrsp.StatusCode, err)
	}
	return nil
}
