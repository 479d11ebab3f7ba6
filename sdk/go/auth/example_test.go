package auth_test

import (
	"context"
	"log"
	"os"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/auth"
)

// A service account and its access token.
func ExampleAuthService_Token() {
	ctx := context.Background()
	authService := auth.NewAuthService(microuser.NewClient(
		microuser.WithAddress("http://localhost:8080"),
		microuser.WithToken(os.Getenv("MICRO_USER_KEY")), // an admin key
	))
	generated, err := authService.Generate(ctx, &auth.GenerateRequest{Scopes: []string{"admin"}})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := authService.Token(ctx, &auth.TokenRequest{Id: generated.Account.Id, Secret: generated.Account.Secret})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("access token valid until %d", tokens.Token.Expiry)
}
