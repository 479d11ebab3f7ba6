// Package rpc is the request and answer plumbing that the service packages (auth,
// user) share: a typed call of an endpoint over [microuser.Client.Call], and the check
// that a successful answer has the parts it must have.
package rpc

import (
	"context"
	"fmt"
	"strings"

	microuser "github.com/micro-user/micro-user/sdk/go"
)

// Call sends req (an empty request when nil) with c to POST /v1/{service}/{endpoint}
// and decodes the answer.
func Call[Req, Rsp any](ctx context.Context, c *microuser.Client, service, endpoint string, req *Req) (*Rsp, error) {
	if req == nil {
		req = new(Req)
	}
	rsp := new(Rsp)
	if err := c.Call(ctx, service, endpoint, req, rsp); err != nil {
		return nil, err
	}
	return rsp, nil
}

// Incomplete is the error for a successful answer of service's endpoint (a call path
// such as "Auth/Token" is named Auth.Token) that lacks part, a part it must have, so
// that callers never find nil where an account, a session or a token is promised.
func Incomplete(service, endpoint, part string) error {
	return fmt.Errorf("micro-user: unreadable answer from %s.%s: it has no %s",
		service, strings.ReplaceAll(endpoint, "/", "."), part)
}

// Require passes on the outcome of a Call (rsp, err), except that a successful answer
// whose part (named name) is nil becomes an [Incomplete] error.
func Require[Rsp, Part any](rsp *Rsp, err error, service, endpoint, name string, part func(*Rsp) *Part) (*Rsp, error) {
	if err != nil {
		return nil, err
	}
	if part(rsp) == nil {
		return nil, Incomplete(service, endpoint, name)
	}
	return rsp, nil
}
