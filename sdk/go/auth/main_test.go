package auth_test

// TestMain runs every test of this package against a live micro-user, started by
// internal/testserver (on a free port, on a fresh SQLite database).

import (
	"context"
	"os"
	"testing"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/auth"
	"github.com/micro-user/micro-user/sdk/go/internal/testserver"
)

var server *testserver.Server

func TestMain(m *testing.M) {
	os.Exit(testserver.Main(m, &server))
}

// client is a client of the live server with key (the admin key when empty).
func client(key string) *microuser.Client {
	if key == "" {
		key = server.AdminKey
	}
	return microuser.NewClient(microuser.WithAddress(server.Address), microuser.WithToken(key))
}

// admin is the auth service of the live server, with the admin key.
func admin() *auth.AuthService { return auth.NewAuthService(client("")) }

// anonymous is the auth service of the live server, without credentials.
func anonymous() *auth.AuthService {
	return auth.NewAuthService(microuser.NewClient(microuser.WithAddress(server.Address), microuser.WithToken("")))
}

// unique is a name that no other test or run uses.
func unique(prefix string) string { return prefix + testserver.RandomHex(5) }

// testContext is a context that ends with the test (or after a minute).
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
