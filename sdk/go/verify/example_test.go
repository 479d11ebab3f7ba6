package verify_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/micro-user/micro-user/sdk/go/verify"
)

// Check a token without calling micro-user for it.
func ExampleVerifier_Verify() {
	verifier := verify.NewVerifier(verify.WithAddress("http://localhost:8080")) // share it
	var token string                                                            // from "Authorization: Bearer <token>"

	claims, err := verifier.Verify(context.Background(), token)
	switch {
	case errors.Is(err, verify.ErrInvalidToken):
		fmt.Println("401:", err)
	case err != nil:
		fmt.Println("503:", err) // the keys could not be fetched
	default:
		fmt.Println("account", claims.Subject, "of", claims.Namespace, "holds", claims.Scopes)
	}
}

// Enforce micro-user's rules in front of a service.
func ExampleMiddleware() {
	mux := http.NewServeMux()
	mux.HandleFunc("/orders/", func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.FromContext(r.Context())
		fmt.Fprintf(w, "orders for %s\n", claims.Subject)
	})
	handler := verify.Middleware(mux,
		verify.WithAddress("http://localhost:8080"),
		verify.WithAPIKey(os.Getenv("ORDERS_KEY")), // may call Rules.List
		verify.WithServiceName("orders"),           // /orders/42 is api:orders:/orders/42
		verify.WithPublicPaths("/healthz"),
	)
	log.Fatal(http.ListenAndServe(":8081", handler))
}
