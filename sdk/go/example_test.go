package microuser_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/user"
)

// A client of the server at localhost:8080, and a first account.
func ExampleNewClient() {
	client := microuser.NewClient(
		microuser.WithAddress("http://localhost:8080"),   // else $MICRO_USER_ADDRESS
		microuser.WithToken(os.Getenv("MICRO_USER_KEY")), // sent as "Authorization: Bearer <key>"
		microuser.WithTimeout(5*time.Second),
	)
	users := user.NewUserService(client)

	rsp, err := users.Create(context.Background(), &user.CreateRequest{
		Email:    "ada@example.com",
		Username: "ada",
		Password: "correct horse battery",
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("created %s", rsp.Account.Id)
}

// Errors of the server are *microuser.Error values: branch on their ID. Here a
// stand-in server answers as micro-user does for an unknown account.
func ExampleError() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"id": "user.read", "code": 404, "detail": "account not found", "status": "Not Found"}`)
	}))
	defer server.Close()

	users := user.NewUserService(microuser.NewClient(microuser.WithAddress(server.URL)))
	_, err := users.Read(context.Background(), &user.ReadRequest{Username: "nobody"})

	var apiErr *microuser.Error
	if errors.As(err, &apiErr) && apiErr.ID == "user.read" && apiErr.Code == http.StatusNotFound {
		fmt.Println("no such account")
	}
	fmt.Println(err)
	// Output:
	// no such account
	// account not found (404 Not Found, id "user.read")
}
