package auth_test

// Every method of the auth service against the live server, and what goes on the wire
// (against a stand-in).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/auth"
	"github.com/micro-user/micro-user/sdk/go/rules"
	"github.com/micro-user/micro-user/sdk/go/user"
)

// apiError is err as a *microuser.Error, or a test failure.
func apiError(t *testing.T, err error) *microuser.Error {
	t.Helper()
	var apiErr *microuser.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not a *microuser.Error", err, err)
	}
	return apiErr
}

// wantError checks that err is the server's error id with code.
func wantError(t *testing.T, err error, id string, code int) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s (%d)", id, code)
	}
	if e := apiError(t, err); e.ID != id || e.Code != code {
		t.Fatalf("error %v, want id %q code %d", e, id, code)
	}
}

func sorted(list []string) []string {
	list = append([]string(nil), list...)
	sort.Strings(list)
	return list
}

func TestRolesAndServiceAccounts(t *testing.T) {
	ctx, svc := testContext(t), admin()
	reader, writer := unique("reader-"), unique("writer-")
	for _, role := range []string{reader, writer} {
		if _, err := svc.CreateRole(ctx, &auth.CreateRoleRequest{Name: role, Description: "for tests"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := svc.CreateRole(ctx, &auth.CreateRoleRequest{Name: reader})
	wantError(t, err, "auth.roles.create", 400)
	_, err = svc.CreateRole(ctx, &auth.CreateRoleRequest{Name: "not a role name"})
	wantError(t, err, "auth.role", 400)

	roles, err := svc.ListRoles(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, r := range roles.Roles {
		found[r.Name] = r.Description
	}
	if _, ok := found["admin"]; !ok || found[reader] != "for tests" || found[writer] != "for tests" {
		t.Errorf("roles %+v", found)
	}

	// A service account holding the reader role.
	before := time.Now().Unix()
	id := unique("svc-test-")
	generated, err := svc.Generate(ctx, &auth.GenerateRequest{
		Id: id, Name: "Billing", Metadata: map[string]string{"team": "billing"}, Scopes: []string{reader},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := generated.Account
	if a.Id != id || a.Type != "service" || a.Issuer != "micro" || a.Name != "Billing" ||
		a.Metadata["team"] != "billing" || len(a.Scopes) != 1 || a.Scopes[0] != reader || !strings.HasPrefix(a.Secret, "mus_") {
		t.Errorf("generated %+v", a)
	}
	_, err = svc.Generate(ctx, &auth.GenerateRequest{Id: id})
	wantError(t, err, "auth.generate", 400)
	// Scopes are free strings, as in Micro: one that is not a role yet becomes one.
	fresh := unique("new-scope-")
	made, err := svc.Generate(ctx, &auth.GenerateRequest{Scopes: []string{fresh}})
	if err != nil || len(made.Account.Scopes) != 1 || made.Account.Scopes[0] != fresh {
		t.Errorf("generate with a new scope: %+v, %v", made, err)
	}
	_, err = svc.Generate(ctx, &auth.GenerateRequest{Scopes: []string{"has space"}})
	wantError(t, err, "auth.generate", 400)
	_, err = svc.Generate(ctx, &auth.GenerateRequest{Type: "user"})
	wantError(t, err, "auth.generate", 400)

	// Its tokens: anyone may ask, with the id and secret.
	anon := anonymous()
	tokens, err := anon.Token(ctx, &auth.TokenRequest{Id: id, Secret: a.Secret})
	if err != nil {
		t.Fatal(err)
	}
	tok := tokens.Token
	if !strings.HasPrefix(tok.AccessToken, "eyJ") || strings.Count(tok.AccessToken, ".") != 2 ||
		!strings.HasPrefix(tok.RefreshToken, "mur_") {
		t.Errorf("tokens %+v", tok)
	}
	if tok.Created < before-5 || tok.Created > time.Now().Unix()+5 || tok.Expiry != tok.Created+900 {
		t.Errorf("created %d expiry %d", tok.Created, tok.Expiry)
	}
	_, err = anon.Token(ctx, &auth.TokenRequest{Id: id, Secret: "mus_wrong"})
	wantError(t, err, "auth.token", 401)
	_, err = anon.Token(ctx, nil)
	wantError(t, err, "auth.token", 400)

	// Inspect: any account may, with its own token as the credential.
	self := auth.NewAuthService(client(tok.AccessToken))
	inspected, err := self.Inspect(ctx, &auth.InspectRequest{Token: tok.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if i := inspected.Account; i.Id != id || i.Type != "service" || i.Issuer != "micro" || len(i.Scopes) != 1 || i.Scopes[0] != reader || i.Secret != "" {
		t.Errorf("inspected %+v", i)
	}
	_, err = self.Inspect(ctx, &auth.InspectRequest{Token: tok.AccessToken[:len(tok.AccessToken)-4] + "AAAA"})
	wantError(t, err, "auth.inspect", 401)
	_, err = anon.Inspect(ctx, &auth.InspectRequest{Token: tok.AccessToken})
	wantError(t, err, "auth", 401) // nobody may inspect
	// The service account may not do what it holds no rule for.
	_, err = self.ListRules(ctx, nil)
	wantError(t, err, "auth", 403)

	// A refresh token works once; a reused one is refused.
	refreshed, err := anon.Token(ctx, &auth.TokenRequest{RefreshToken: tok.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.Token.RefreshToken == tok.RefreshToken || refreshed.Token.AccessToken == "" {
		t.Errorf("refreshed %+v", refreshed.Token)
	}
	_, err = anon.Token(ctx, &auth.TokenRequest{RefreshToken: tok.RefreshToken})
	wantError(t, err, "auth.token", 401)
	// The reuse revoked the whole family, the access tokens minted with it included.
	_, err = self.Inspect(ctx, &auth.InspectRequest{Token: refreshed.Token.AccessToken})
	wantError(t, err, "auth", 401)

	// Grants show in the tokens issued after them.
	if _, err := svc.GrantRole(ctx, &auth.GrantRoleRequest{Role: writer, AccountType: "service", AccountId: id}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.GrantRole(ctx, &auth.GrantRoleRequest{Role: unique("nope-"), AccountType: "service", AccountId: id})
	wantError(t, err, "auth.roles.grant", 404)
	_, err = svc.GrantRole(ctx, &auth.GrantRoleRequest{Role: writer, AccountId: id}) // a user account by default
	wantError(t, err, "auth.roles.grant", 404)
	tokens, err = anon.Token(ctx, &auth.TokenRequest{Id: id, Secret: a.Secret})
	if err != nil {
		t.Fatal(err)
	}
	self = auth.NewAuthService(client(tokens.Token.AccessToken))
	inspected, err = self.Inspect(ctx, &auth.InspectRequest{Token: tokens.Token.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(inspected.Account.Scopes); len(got) != 2 || got[0] != reader || got[1] != writer {
		t.Errorf("scopes %v", got)
	}
	if _, err := svc.RevokeRole(ctx, &auth.RevokeRoleRequest{Role: writer, AccountType: "service", AccountId: id}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.RevokeRole(ctx, &auth.RevokeRoleRequest{Role: writer, AccountType: "service", AccountId: id})
	wantError(t, err, "auth.roles.revoke", 404)

	// Listing shows the account, without its secret.
	listed, err := svc.ListAccounts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen *auth.Account
	for _, acc := range listed.Accounts {
		if acc.Id == id {
			seen = acc
		}
	}
	if seen == nil || seen.Secret != "" || seen.Name != "Billing" || len(seen.Scopes) != 1 || seen.Scopes[0] != reader {
		t.Errorf("listed %+v", seen)
	}

	// A new secret: the old one no longer works.
	_, err = svc.ChangeSecret(ctx, &auth.ChangeSecretRequest{Id: id, OldSecret: "mus_wrong"})
	wantError(t, err, "auth.accounts.changesecret", 400)
	changed, err := svc.ChangeSecret(ctx, &auth.ChangeSecretRequest{Id: id, OldSecret: a.Secret})
	if err != nil {
		t.Fatal(err)
	}
	if changed.Account.Id != id || changed.Account.Secret == "" || changed.Account.Secret == a.Secret {
		t.Errorf("changed %+v", changed.Account)
	}
	_, err = anon.Token(ctx, &auth.TokenRequest{Id: id, Secret: a.Secret})
	wantError(t, err, "auth.token", 401)
	chosen := "a chosen secret of 24+ characters"
	if _, err := svc.ChangeSecret(ctx, &auth.ChangeSecretRequest{Id: id, NewSecret: chosen}); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Token(ctx, &auth.TokenRequest{Id: id, Secret: chosen}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.ChangeSecret(ctx, &auth.ChangeSecretRequest{Id: unique("nobody-")})
	wantError(t, err, "auth.accounts.changesecret", 404)

	// Deleting the account ends its credentials; deleting a role ends its grants.
	if _, err := svc.DeleteAccount(ctx, &auth.DeleteAccountRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.DeleteAccount(ctx, &auth.DeleteAccountRequest{Id: id})
	wantError(t, err, "auth.accounts.delete", 404)
	_, err = anon.Token(ctx, &auth.TokenRequest{Id: id, Secret: chosen})
	wantError(t, err, "auth.token", 401)
	for _, role := range []string{reader, writer} {
		if _, err := svc.DeleteRole(ctx, &auth.DeleteRoleRequest{Name: role}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = svc.DeleteRole(ctx, &auth.DeleteRoleRequest{Name: reader})
	wantError(t, err, "auth.roles.delete", 404)
	_, err = svc.DeleteRole(ctx, &auth.DeleteRoleRequest{Name: "admin"})
	wantError(t, err, "auth.roles.delete", 400)
}

func TestOAuthClients(t *testing.T) {
	ctx, svc := testContext(t), admin()
	made, err := svc.CreateClient(ctx, &auth.CreateClientRequest{
		Name:                   "Notes",
		RedirectUris:           []string{"https://notes.example/callback"},
		PostLogoutRedirectUris: []string{"https://notes.example/"},
		ThirdParty:             true,
		Scopes:                 []string{"openid", "email"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := made.Client
	if !strings.HasPrefix(c.Id, "mcl_") || !strings.HasPrefix(c.Secret, "mcs_") || c.Public || c.FirstParty {
		t.Errorf("client %+v", c)
	}
	if strings.Join(c.Scopes, " ") != "openid email" || c.PostLogoutRedirectUris[0] != "https://notes.example/" || c.Created == 0 {
		t.Errorf("client %+v", c)
	}
	spa, err := svc.CreateClient(ctx, &auth.CreateClientRequest{Name: "Board", RedirectUris: []string{"http://127.0.0.1:3000/cb"}, Public: true})
	if err != nil || spa.Client.Secret != "" || !spa.Client.Public {
		t.Fatalf("public client %+v, %v", spa, err)
	}
	listed, err := svc.ListClients(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range listed.Clients {
		if l.Id == c.Id {
			found = l.Secret == "" && l.Name == "Notes"
		}
	}
	if !found {
		t.Errorf("client %s not listed (without its secret): %+v", c.Id, listed.Clients)
	}
	_, err = svc.CreateClient(ctx, &auth.CreateClientRequest{Name: "Evil", RedirectUris: []string{"https://evil.example/*"}})
	wantError(t, err, "auth.clients.create", 400)
	if _, err := svc.DeleteClient(ctx, &auth.DeleteClientRequest{Id: c.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.DeleteClient(ctx, &auth.DeleteClientRequest{Id: c.Id})
	wantError(t, err, "auth.clients.delete", 404)
}

func TestIdentityProviders(t *testing.T) {
	ctx, svc := testContext(t), admin()
	// Plain OAuth 2.0: the server fetches nothing from the provider when it is added.
	secret := unique("provider-secret-")
	req := &auth.CreateProviderRequest{
		Id:                    unique("corp-"),
		Kind:                  "oauth2",
		Name:                  "Corp",
		ClientId:              "micro-user",
		ClientSecret:          secret,
		AuthorizationEndpoint: "https://id.example.com/auth",
		TokenEndpoint:         "https://id.example.com/token",
		UserinfoEndpoint:      "https://id.example.com/me",
		Scopes:                []string{"read:user"},
	}
	made, err := svc.CreateProvider(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	p := made.Provider
	want := auth.Provider{
		Id: req.Id, Kind: "oauth2", Name: "Corp", AuthorizationEndpoint: req.AuthorizationEndpoint,
		TokenEndpoint: req.TokenEndpoint, UserinfoEndpoint: req.UserinfoEndpoint, ClientId: "micro-user",
		Scopes: []string{"read:user"}, SubjectClaim: "id", EmailClaim: "email", Created: p.Created,
	}
	if !reflect.DeepEqual(*p, want) || p.Created == 0 || strings.Contains(fmt.Sprintf("%+v", *p), secret) {
		t.Errorf("provider %+v, want %+v", *p, want)
	}
	listed, err := svc.ListProviders(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range listed.Providers {
		found = found || reflect.DeepEqual(*l, want)
	}
	if !found {
		t.Errorf("provider %s not listed: %+v", p.Id, listed.Providers)
	}
	plain := *req
	plain.Id, plain.AuthorizationEndpoint = unique("plain-"), "http://id.example.com/auth"
	_, err = svc.CreateProvider(ctx, &plain)
	wantError(t, err, "auth.providers.create", 400)
	if e := apiError(t, err); !strings.Contains(e.Detail, "https") {
		t.Errorf("refused for %q, not for its http endpoint", e.Detail)
	}
	if _, err := svc.DeleteProvider(ctx, &auth.DeleteProviderRequest{Id: p.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.DeleteProvider(ctx, &auth.DeleteProviderRequest{Id: p.Id})
	wantError(t, err, "auth.providers.delete", 404)
}

func TestFactorPolicy(t *testing.T) {
	ctx, svc := testContext(t), admin()
	none := auth.FactorPolicy{Required: "none", Roles: []string{}}
	// The live server is shared by the package's tests: leave the namespace as it was.
	t.Cleanup(func() {
		set, err := svc.SetFactorPolicy(context.Background(), &auth.SetFactorPolicyRequest{Required: "none"})
		if err != nil || !reflect.DeepEqual(*set.Policy, none) {
			t.Errorf("policy back to none: %+v, %v", set, err)
		}
	})
	admins := auth.FactorPolicy{Required: "roles", Roles: []string{"admin"}}
	set, err := svc.SetFactorPolicy(ctx, &auth.SetFactorPolicyRequest{Required: "roles", Roles: []string{"admin"}})
	if err != nil || !reflect.DeepEqual(*set.Policy, admins) {
		t.Fatalf("set %+v, %v", set, err)
	}
	read, err := svc.ReadFactorPolicy(ctx, nil)
	if err != nil || !reflect.DeepEqual(*read.Policy, admins) {
		t.Fatalf("read %+v, %v", read, err)
	}
	_, err = svc.SetFactorPolicy(ctx, &auth.SetFactorPolicyRequest{Required: "roles"})
	wantError(t, err, "factors.policy", 400)
	if read, err := svc.ReadFactorPolicy(ctx, nil); err != nil || !reflect.DeepEqual(*read.Policy, admins) {
		t.Errorf("after a refused change: %+v, %v", read, err)
	}
}

func TestRules(t *testing.T) {
	ctx, svc := testContext(t), admin()
	id := unique("rule-test-")
	rule := auth.Rule{
		Id: id, Scope: "reader",
		Resource: auth.Resource{Type: "service", Name: "orders", Endpoint: "Orders.Delete"},
		Access:   rules.Denied, Priority: 5,
	}
	if _, err := svc.CreateRule(ctx, &auth.CreateRuleRequest{Rule: &rule}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.CreateRule(ctx, &auth.CreateRuleRequest{Rule: &rule})
	wantError(t, err, "auth.rules.create", 400)
	_, err = svc.CreateRule(ctx, &auth.CreateRuleRequest{Rule: &auth.Rule{Resource: auth.Resource{Type: "service", Name: "orders"}}})
	wantError(t, err, "auth.rules.create", 400)
	_, err = svc.CreateRule(ctx, nil)
	wantError(t, err, "auth.rules.create", 400)
	_, err = svc.CreateRule(ctx, &auth.CreateRuleRequest{Rule: &auth.Rule{Resource: rule.Resource, Priority: rules.MaxPriority}})
	wantError(t, err, "auth.rules.create", 400)

	// Empty id and access: generated, and GRANTED.
	marker := unique("Orders.Marker")
	if _, err := svc.CreateRule(ctx, &auth.CreateRuleRequest{Rule: &auth.Rule{
		Scope: "", Resource: auth.Resource{Type: "api", Name: "shop", Endpoint: "/v1/" + marker + "/*"}, Priority: -3,
	}}); err != nil {
		t.Fatal(err)
	}

	listed, err := svc.ListRules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got, generated *auth.Rule
	for i, r := range listed.Rules {
		switch {
		case r.Id == id:
			got = &listed.Rules[i]
		case r.Resource.Endpoint == "/v1/"+marker+"/*":
			generated = &listed.Rules[i]
		}
	}
	if got == nil || *got != rule {
		t.Errorf("listed %+v, want %+v", got, rule)
	}
	if generated == nil || !strings.HasPrefix(generated.Id, "rule-") || generated.Access != rules.Granted ||
		generated.Priority != -3 || generated.Scope != "" || generated.Resource.Type != "api" {
		t.Errorf("generated %+v", generated)
	}
	for _, r := range listed.Rules {
		if strings.HasPrefix(r.Id, "builtin-") {
			t.Errorf("ListRules lists the built-in rule %+v", r)
		}
	}

	if _, err := svc.DeleteRule(ctx, &auth.DeleteRuleRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	if generated != nil {
		if _, err := svc.DeleteRule(ctx, &auth.DeleteRuleRequest{Id: generated.Id}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = svc.DeleteRule(ctx, &auth.DeleteRuleRequest{Id: id})
	wantError(t, err, "auth.rules.delete", 404)
	_, err = svc.DeleteRule(ctx, nil)
	wantError(t, err, "auth.rules.delete", 400)
}

func TestVerify(t *testing.T) {
	ctx, svc := testContext(t), admin()
	role := unique("verify-")
	if _, err := svc.CreateRole(ctx, &auth.CreateRoleRequest{Name: role}); err != nil {
		t.Fatal(err)
	}
	acc, err := svc.Generate(ctx, &auth.GenerateRequest{Scopes: []string{role}})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := svc.Token(ctx, &auth.TokenRequest{Id: acc.Account.Id, Secret: acc.Account.Secret})
	if err != nil {
		t.Fatal(err)
	}
	name := unique("verified")
	resource := auth.Resource{Type: "service", Name: name, Endpoint: "Thing.Read"}
	if _, err := svc.CreateRule(ctx, &auth.CreateRuleRequest{Rule: &auth.Rule{Scope: role, Resource: resource}}); err != nil {
		t.Fatal(err)
	}

	rsp, err := svc.Verify(ctx, &auth.VerifyRequest{Token: tokens.Token.AccessToken, Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	if !rsp.Allowed || rsp.Account.Id != acc.Account.Id || rsp.Account.Issuer != "micro" || rsp.Account.Type != "service" {
		t.Errorf("verify %+v %+v", rsp, rsp.Account)
	}
	other := resource
	other.Endpoint = "Thing.Write"
	if rsp, err := svc.Verify(ctx, &auth.VerifyRequest{Token: tokens.Token.AccessToken, Resource: other}); err != nil || rsp.Allowed {
		t.Errorf("verify another endpoint: %+v, %v", rsp, err)
	}
	// Nobody: no token.
	if rsp, err := svc.Verify(ctx, &auth.VerifyRequest{Resource: resource}); err != nil || rsp.Allowed || rsp.Account.Id != "" {
		t.Errorf("verify nobody: %+v, %v", rsp, err)
	}
	if rsp, err := svc.Verify(ctx, &auth.VerifyRequest{Resource: auth.Resource{Type: "service", Name: "auth", Endpoint: "Auth.Token"}}); err != nil || !rsp.Allowed {
		t.Errorf("verify nobody on Auth.Token (built in): %+v, %v", rsp, err)
	}
	// Another namespace's rules are not the caller's to evaluate.
	_, err = svc.Verify(ctx, &auth.VerifyRequest{Token: tokens.Token.AccessToken, Resource: resource, Namespace: "elsewhere"})
	wantError(t, err, "auth.verify", 403)
	_, err = svc.Verify(ctx, &auth.VerifyRequest{Token: "eyJnot.a.token", Resource: resource})
	wantError(t, err, "auth.verify", 401)
	_, err = svc.Verify(ctx, &auth.VerifyRequest{Token: tokens.Token.AccessToken})
	wantError(t, err, "auth.verify", 400)
}

func TestTokensForALoginSession(t *testing.T) {
	ctx := testContext(t)
	users := user.NewUserService(client(""))
	name := unique("gosdk")
	created, err := users.Create(ctx, &user.CreateRequest{Username: name, Email: name + "@example.com", Password: "correct horse 1"})
	if err != nil {
		t.Fatal(err)
	}
	login, err := users.Login(ctx, &user.LoginRequest{Username: name, Password: "correct horse 1"})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := anonymous().Token(ctx, &auth.TokenRequest{SessionId: login.Session.Id})
	if err != nil {
		t.Fatal(err)
	}
	inspected, err := admin().Inspect(ctx, &auth.InspectRequest{Token: tokens.Token.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if inspected.Account.Id != created.Account.Id || inspected.Account.Type != "user" {
		t.Errorf("inspected %+v", inspected.Account)
	}
	// Ending the session ends its tokens.
	if _, err := users.Logout(ctx, &user.LogoutRequest{SessionId: login.Session.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = anonymous().Token(ctx, &auth.TokenRequest{RefreshToken: tokens.Token.RefreshToken})
	wantError(t, err, "auth.token", 401)
	_, err = anonymous().Token(ctx, &auth.TokenRequest{SessionId: login.Session.Id})
	wantError(t, err, "auth.token", 401)
}

// What goes on the wire: the paths, the proto field names, int64 as strings.
func TestWire(t *testing.T) {
	type seen struct {
		path string
		body map[string]any
	}
	var got []seen
	answers := map[string]string{
		"/v1/auth/Auth/Token":  `{"token": {"access_token": "a", "refresh_token": "r", "created": "1700000000", "expiry": "1700000900"}}`,
		"/v1/auth/Rules/List":  `{"rules": [{"id": "r1", "scope": "", "resource": {"type": "service", "name": "user", "endpoint": "User.Login"}, "access": "GRANTED", "priority": 2147483646}]}`,
		"/v1/auth/Auth/Verify": `{"allowed": true}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(data, &body)
		got = append(got, seen{r.URL.Path, body})
		answer, ok := answers[r.URL.Path]
		if !ok {
			answer = `{}`
		}
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	svc := auth.NewAuthService(microuser.NewClient(microuser.WithAddress(srv.URL), microuser.WithToken("k")))
	ctx := testContext(t)

	tok, err := svc.Token(ctx, &auth.TokenRequest{Id: "a", Secret: "s", TokenExpiry: 60})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Token.Created != 1700000000 || tok.Token.Expiry != 1700000900 {
		t.Errorf("token %+v", tok.Token)
	}
	list, err := svc.ListRules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Rules) != 1 || list.Rules[0].Priority != 2147483646 || list.Rules[0].Access != rules.Granted {
		t.Errorf("rules %+v", list.Rules)
	}
	_, err = svc.Verify(ctx, &auth.VerifyRequest{Resource: auth.Resource{Type: "a", Name: "b", Endpoint: "c"}})
	if err == nil || !strings.Contains(err.Error(), "no account") {
		t.Errorf("an answer without its account: %v", err)
	}
	_, _ = svc.GrantRole(ctx, &auth.GrantRoleRequest{Role: "r", AccountType: "service", AccountId: "x"})
	_, _ = svc.CreateRule(ctx, &auth.CreateRuleRequest{Rule: &auth.Rule{Id: "r", Resource: auth.Resource{Type: "a", Name: "b", Endpoint: "c"}, Priority: 3}})
	_, _ = svc.ChangeSecret(ctx, &auth.ChangeSecretRequest{Id: "x", OldSecret: "o", NewSecret: "n"})

	want := []struct {
		path string
		body string
	}{
		{"/v1/auth/Auth/Token", `{"id":"a","secret":"s","token_expiry":"60"}`},
		{"/v1/auth/Rules/List", `{}`},
		{"/v1/auth/Auth/Verify", `{"resource":{"endpoint":"c","name":"b","type":"a"}}`},
		{"/v1/auth/Roles/Grant", `{"account_id":"x","account_type":"service","role":"r"}`},
		{"/v1/auth/Rules/Create", `{"rule":{"access":"","id":"r","priority":3,"resource":{"endpoint":"c","name":"b","type":"a"},"scope":""}}`},
		{"/v1/auth/Accounts/ChangeSecret", `{"id":"x","new_secret":"n","old_secret":"o"}`},
	}
	if len(got) != len(want) {
		t.Fatalf("requests %+v", got)
	}
	for i, w := range want {
		body, _ := json.Marshal(got[i].body)
		if got[i].path != w.path || string(body) != w.body {
			t.Errorf("request %d: %s %s, want %s %s", i, got[i].path, body, w.path, w.body)
		}
	}
}
