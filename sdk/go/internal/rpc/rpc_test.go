package rpc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/internal/rpc"
)

type part struct {
	Name string `json:"name"`
}

type request struct {
	Id string `json:"id,omitempty"`
}

type response struct {
	Part *part `json:"part"`
}

// standIn is a client of a server that answers every call with status and body, and
// records the path and body of the last request in *path and *sent.
func standIn(t *testing.T, status int, body string, path, sent *string) *microuser.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*path, *sent = r.URL.Path, string(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return microuser.NewClient(microuser.WithAddress(srv.URL), microuser.WithToken(""))
}

func getPart(r *response) *part { return r.Part }

func TestCall(t *testing.T) {
	var path, sent string
	c := standIn(t, 200, `{"part": {"name": "ada"}}`, &path, &sent)

	rsp, err := rpc.Call[request, response](context.Background(), c, "svc", "Things/Read", nil)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/v1/svc/Things/Read" || sent != "{}" {
		t.Errorf("sent %s to %s, want {} to /v1/svc/Things/Read", sent, path)
	}
	if rsp.Part == nil || rsp.Part.Name != "ada" {
		t.Errorf("answer %+v", rsp)
	}

	if _, err := rpc.Call[request, response](context.Background(), c, "svc", "Read", &request{Id: "x"}); err != nil {
		t.Fatal(err)
	}
	if sent != `{"id":"x"}` {
		t.Errorf("sent %s", sent)
	}
}

func TestCallError(t *testing.T) {
	var path, sent string
	c := standIn(t, 404, `{"id": "svc.read", "code": 404, "detail": "not found", "status": "Not Found"}`, &path, &sent)
	rsp, err := rpc.Call[request, response](context.Background(), c, "svc", "Read", nil)
	var apiErr *microuser.Error
	if rsp != nil || !errors.As(err, &apiErr) || apiErr.ID != "svc.read" {
		t.Fatalf("Call = %v, %v; want nil and the server's error", rsp, err)
	}
}

func TestRequire(t *testing.T) {
	ok := &response{Part: &part{Name: "ada"}}
	if rsp, err := rpc.Require(ok, nil, "svc", "Things/Read", "part", getPart); rsp != ok || err != nil {
		t.Errorf("Require of a complete answer = %v, %v", rsp, err)
	}

	cause := errors.New("no answer")
	if rsp, err := rpc.Require[response](nil, cause, "svc", "Things/Read", "part", getPart); rsp != nil || err != cause {
		t.Errorf("Require of an error = %v, %v; want nil, the error", rsp, err)
	}

	rsp, err := rpc.Require(&response{}, nil, "svc", "Things/Read", "part", getPart)
	want := "micro-user: unreadable answer from svc.Things.Read: it has no part"
	if rsp != nil || err == nil || err.Error() != want {
		t.Errorf("Require of an answer without its part = %v, %v; want nil, %q", rsp, err, want)
	}
}
