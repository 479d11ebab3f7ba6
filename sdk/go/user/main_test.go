package user_test

// TestMain runs every test of this package against a live micro-user, started by
// internal/testserver (on a free port, on a fresh SQLite database, with the console
// mail sender writing mails to the server's log, where the tests read them).

import (
	"context"
	"os"
	"testing"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/internal/testserver"
	"github.com/micro-user/micro-user/sdk/go/user"
)

// server is the live server, set by TestMain.
var server *testserver.Server

func TestMain(m *testing.M) {
	os.Exit(testserver.Main(m, &server))
}

// adminClient is a client of the live server, with the admin key.
func adminClient(opts ...microuser.Option) *microuser.Client {
	opts = append([]microuser.Option{microuser.WithAddress(server.Address), microuser.WithToken(server.AdminKey)}, opts...)
	return microuser.NewClient(opts...)
}

// newUsers is a user service client of the live server, with the admin key.
func newUsers(opts ...microuser.Option) *user.UserService {
	return user.NewUserService(adminClient(opts...))
}

// unique is a lower-case name that no other test or run uses.
func unique(prefix string) string {
	return prefix + testserver.RandomHex(5)
}

// testContext is a context that ends with the test (or after a minute).
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
