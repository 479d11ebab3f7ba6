package microuser

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Error is an error answer of the server: its JSON body
// {"id": "user.read", "code": 404, "detail": "account not found", "status": "Not Found"}.
//
// Branch on ID, which is stable (such as "users-email-check" for a taken email, or
// "user.login" for wrong credentials), or on Code; never on Detail, which is written
// for people. Get one from any error the SDK returns with errors.As:
//
//	var apiErr *microuser.Error
//	if errors.As(err, &apiErr) && apiErr.ID == "users-email-check" { ... }
type Error struct {
	// ID names what failed: the endpoint ("user.read") or the check ("users-email-check").
	// It is empty when the answer was not micro-user's JSON (a proxy's error page, say).
	ID string `json:"id"`
	// Code is the HTTP status code of the answer (400, 401, 404, 500...).
	Code int `json:"code"`
	// Detail says what went wrong, for people. For an answer that was not JSON it is
	// the start of its body, or else the status text.
	Detail string `json:"detail"`
	// Status is the standard text of the HTTP status code ("Not Found").
	Status string `json:"status"`
}

// Error returns the detail, the code, the status and the id, as in
// `account not found (404 Not Found, id "user.read")`.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d %s, id %q)", e.Detail, e.Code, e.Status, e.ID)
}

// errorFromAnswer reads an error answer with HTTP status code and body. The status code
// is the Code; id, detail and status come from the body when it is micro-user's JSON,
// and are made up from the code and the raw body otherwise.
func errorFromAnswer(code int, body []byte) *Error {
	e := &Error{Code: code}
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		e.ID, _ = fields["id"].(string)
		e.Detail, _ = fields["detail"].(string)
		e.Status, _ = fields["status"].(string)
	}
	if e.Detail == "" {
		e.Detail = strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD"))
		if len(e.Detail) > detailMax {
			e.Detail = strings.ToValidUTF8(e.Detail[:detailMax], "")
		}
	}
	if e.Status == "" {
		e.Status = http.StatusText(code)
	}
	if e.Detail == "" {
		e.Detail = e.Status
	}
	return e
}

// TransportError is returned when a call got no answer from the server: the connection
// was refused or broke, the call ran out of time, or its context was cancelled.
// It wraps the cause, so errors.Is(err, context.DeadlineExceeded) and
// errors.Is(err, context.Canceled) work as usual.
type TransportError struct {
	// URL is the address the call was sent to.
	URL string
	// Err is the cause, as returned by the HTTP client.
	Err error
}

// Error says which address gave no answer, and why.
func (e *TransportError) Error() string {
	reason := e.Err
	var uerr *url.Error
	if errors.As(reason, &uerr) && uerr.Err != nil {
		reason = uerr.Err // url.Error repeats the method and URL
	}
	return fmt.Sprintf("micro-user: no answer from %s: %v", e.URL, reason)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }
