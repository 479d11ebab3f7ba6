// Package auth is the client of micro-user's auth service: service accounts and their
// tokens, rules and roles, one method per endpoint of the Micro auth API (plus
// Auth.Verify, Roles, Clients, Providers and FactorPolicy, micro-user's additions).
//
//	client := microuser.NewClient(microuser.WithAddress("http://localhost:8080"), microuser.WithToken(key))
//	authService := auth.NewAuthService(client)
//	rsp, err := authService.Generate(ctx, &auth.GenerateRequest{Id: "billing", Scopes: []string{"orders-reader"}})
//
// Requests and responses mirror the proto messages; their JSON uses the proto field
// names, and int64 fields travel as JSON strings (Token.Created and Token.Expiry; a
// rule's priority, 32 bits, is a number). Rules and resources are the types of the
// package [github.com/micro-user/micro-user/sdk/go/rules], so that the rules ListRules
// returns can be evaluated locally. Every method returns an [*microuser.Error] when the
// server answers with an error, and a [*microuser.TransportError] when it does not
// answer.
//
// To check access tokens without asking the server, see the package
// [github.com/micro-user/micro-user/sdk/go/verify].
package auth

import (
	"context"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/internal/rpc"
	"github.com/micro-user/micro-user/sdk/go/rules"
)

// Service is the name of the auth service in call paths: /v1/auth/{Handler}/{Method}.
const Service = "auth"

// Account is an account of the Micro auth model: a service account made by Generate,
// or the account a token belongs to (Inspect, Verify).
type Account struct {
	// Id is unique within the namespace.
	Id string `json:"id"`
	// Type is "service" for service accounts, "user" for people, "key" for API keys.
	Type string `json:"type"`
	// Issuer is the account's namespace.
	Issuer string `json:"issuer"`
	// Metadata is free-form data of the account.
	Metadata map[string]string `json:"metadata"`
	// Scopes are the roles the account holds.
	Scopes []string `json:"scopes"`
	// Secret is the account's secret, shown once: by Generate and ChangeSecret only.
	Secret string `json:"secret"`
	// Name is a name for people.
	Name string `json:"name"`
}

// Client is an OAuth client: an application that signs its users in through micro-user
// (the authorization code flow with PKCE).
type Client struct {
	// Id is generated ("mcl_...").
	Id string `json:"id"`
	// Name is shown to its users (on the consent page).
	Name string `json:"name"`
	// Public clients (single-page and native apps) have no secret; PKCE proves each code.
	Public bool `json:"public"`
	// FirstParty clients' users are not asked to consent.
	FirstParty bool `json:"first_party"`
	// RedirectUris are where users come back with a code, matched exactly.
	RedirectUris []string `json:"redirect_uris"`
	// PostLogoutRedirectUris are where RP-initiated logout may send users back to.
	PostLogoutRedirectUris []string `json:"post_logout_redirect_uris"`
	// Scopes are what it may ask for.
	Scopes []string `json:"scopes"`
	// Created is when it was registered, in unix seconds.
	Created int64 `json:"created,string"`
	// Secret of a confidential client, shown once: by CreateClient only.
	Secret string `json:"secret"`
}

// Provider is an external identity provider that users sign in with on the hosted
// pages: OpenID Connect (Kind "oidc", its endpoints found from its Issuer) or plain
// OAuth 2.0 ("oauth2", who signed in read from its UserinfoEndpoint). Its client secret
// is never shown, not even by CreateProvider.
type Provider struct {
	// Id names it in URLs: 1 to 63 lower-case letters, digits and hyphens.
	Id string `json:"id"`
	// Kind is "oidc" or "oauth2".
	Kind string `json:"kind"`
	// Name is on the sign-in page's button ("Sign in with <Name>").
	Name string `json:"name"`
	// Issuer of an OpenID Connect provider (empty for plain OAuth 2.0).
	Issuer string `json:"issuer"`
	// AuthorizationEndpoint is where users are sent to sign in.
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	// TokenEndpoint is where codes become tokens.
	TokenEndpoint string `json:"token_endpoint"`
	// UserinfoEndpoint says who signed in (plain OAuth 2.0; optional for OpenID Connect).
	UserinfoEndpoint string `json:"userinfo_endpoint"`
	// ClientId is micro-user's client id at the provider.
	ClientId string `json:"client_id"`
	// Scopes are what is asked for.
	Scopes []string `json:"scopes"`
	// SubjectClaim is the field of the user's id at the provider.
	SubjectClaim string `json:"subject_claim"`
	// EmailClaim is the field of the user's email address.
	EmailClaim string `json:"email_claim"`
	// VerifiedClaim is the field saying the address is verified (empty: none).
	VerifiedClaim string `json:"verified_claim"`
	// KeepTokens keeps the provider's tokens (sealed) after each sign-in.
	KeepTokens bool `json:"keep_tokens"`
	// Created is when it was added, in unix seconds.
	Created int64 `json:"created,string"`
}

// FactorPolicy is who in the namespace must have a second factor.
type FactorPolicy struct {
	// Required is "none" (each user's choice), "everyone", or "roles" (the holders of
	// Roles).
	Required string `json:"required"`
	// Roles whose holders must have a second factor, when Required is "roles".
	Roles []string `json:"roles"`
}

// Token is what Token returns: a short-lived access token (a JWT any service can check
// with the server's published keys) and a refresh token. Times are unix seconds.
type Token struct {
	// AccessToken is the JWT to send as "Authorization: Bearer <token>".
	AccessToken string `json:"access_token"`
	// RefreshToken gets new tokens once (it rotates on every use).
	RefreshToken string `json:"refresh_token"`
	// Created is when the tokens were made.
	Created int64 `json:"created,string"`
	// Expiry is when the access token expires (15 minutes after Created by default).
	Expiry int64 `json:"expiry,string"`
}

// Resource is what is being accessed, such as {service, user, User.Create}.
type Resource = rules.Resource

// Rule grants or denies a scope access to resources.
type Rule = rules.Rule

// Access is what a rule decides: rules.Granted or rules.Denied.
type Access = rules.Access

// Role is a named scope that accounts may hold.
type Role struct {
	// Name is 1 to 64 letters, digits, '_', '.', ':' or '-'.
	Name string `json:"name"`
	// Description is for people.
	Description string `json:"description"`
}

// GenerateRequest is the request of [AuthService.Generate].
type GenerateRequest struct {
	// Id of the new service account; generated ("svc-...") when empty.
	Id string `json:"id,omitempty"`
	// Metadata is free-form data kept with the account.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Scopes are the roles to grant the account: free strings, as in Micro (a role not yet
	// made is made).
	Scopes []string `json:"scopes,omitempty"`
	// Secret, when chosen, is 24 to 512 characters; generated ("mus_...") when empty.
	Secret string `json:"secret,omitempty"`
	// Type must be empty or "service": people register with the user service.
	Type string `json:"type,omitempty"`
	// Provider is accepted for compatibility and ignored.
	Provider string `json:"provider,omitempty"`
	// Name is a name for people.
	Name string `json:"name,omitempty"`
}

// GenerateResponse is the answer of [AuthService.Generate].
type GenerateResponse struct {
	// Account is the new account, with its secret (shown this once).
	Account *Account `json:"account"`
}

// InspectRequest is the request of [AuthService.Inspect].
type InspectRequest struct {
	// Token is an access token.
	Token string `json:"token,omitempty"`
}

// InspectResponse is the answer of [AuthService.Inspect].
type InspectResponse struct {
	// Account is the account the token belongs to, as the token says.
	Account *Account `json:"account"`
}

// TokenRequest is the request of [AuthService.Token]: give exactly one of Id and
// Secret, RefreshToken, or SessionId.
type TokenRequest struct {
	// Id of a service account, with its Secret (the client-credentials grant).
	Id string `json:"id,omitempty"`
	// Secret of the service account Id.
	Secret string `json:"secret,omitempty"`
	// RefreshToken, to exchange for new tokens; it works once.
	RefreshToken string `json:"refresh_token,omitempty"`
	// TokenExpiry asks for an access token that lives fewer seconds than the server's
	// configured lifetime (never more); 0 takes that lifetime.
	TokenExpiry int64 `json:"token_expiry,string,omitempty"`
	// SessionId of a login session (micro-user's addition): tokens for its user, which
	// end when the session ends.
	SessionId string `json:"session_id,omitempty"`
}

// TokenResponse is the answer of [AuthService.Token].
type TokenResponse struct {
	// Token holds the access and refresh tokens.
	Token *Token `json:"token"`
}

// VerifyRequest is the request of [AuthService.Verify].
type VerifyRequest struct {
	// Token is an access token, API key or session id; empty asks for a caller without
	// an account.
	Token string `json:"token,omitempty"`
	// Resource is what would be accessed; its three parts are required.
	Resource Resource `json:"resource"`
	// Namespace whose rules decide; by default the token's, or the caller's.
	Namespace string `json:"namespace,omitempty"`
}

// VerifyResponse is the answer of [AuthService.Verify].
type VerifyResponse struct {
	// Allowed says whether the rules allow it.
	Allowed bool `json:"allowed"`
	// Account is who the token belongs to (all empty without a token).
	Account *Account `json:"account"`
}

// ListAccountsRequest is the (empty) request of [AuthService.ListAccounts].
type ListAccountsRequest struct{}

// ListAccountsResponse is the answer of [AuthService.ListAccounts].
type ListAccountsResponse struct {
	// Accounts are the namespace's service accounts, without their secrets.
	Accounts []*Account `json:"accounts"`
}

// DeleteAccountRequest is the request of [AuthService.DeleteAccount].
type DeleteAccountRequest struct {
	// Id of the service account.
	Id string `json:"id,omitempty"`
}

// DeleteAccountResponse is the (empty) answer of [AuthService.DeleteAccount].
type DeleteAccountResponse struct{}

// ChangeSecretRequest is the request of [AuthService.ChangeSecret].
type ChangeSecretRequest struct {
	// Id of the service account.
	Id string `json:"id,omitempty"`
	// OldSecret, when given, must be the account's secret.
	OldSecret string `json:"old_secret,omitempty"`
	// NewSecret, when chosen, is 24 to 512 characters; generated when empty.
	NewSecret string `json:"new_secret,omitempty"`
}

// ChangeSecretResponse is the answer of [AuthService.ChangeSecret].
type ChangeSecretResponse struct {
	// Account is the account, with its new secret (shown this once).
	Account *Account `json:"account"`
}

// CreateClientRequest is the request of [AuthService.CreateClient].
type CreateClientRequest struct {
	// Name is shown to its users; required.
	Name string `json:"name"`
	// RedirectUris are where users come back with a code: https, or http on loopback,
	// matched exactly; at least one.
	RedirectUris []string `json:"redirect_uris"`
	// PostLogoutRedirectUris are where RP-initiated logout may send users back to.
	PostLogoutRedirectUris []string `json:"post_logout_redirect_uris,omitempty"`
	// Public makes a client without a secret (a single-page or native app).
	Public bool `json:"public,omitempty"`
	// ThirdParty clients' users are asked to consent.
	ThirdParty bool `json:"third_party,omitempty"`
	// Scopes it may ask for (default: openid, profile, email, offline_access).
	Scopes []string `json:"scopes,omitempty"`
}

// CreateClientResponse is the answer of [AuthService.CreateClient].
type CreateClientResponse struct {
	// Client is the new client, with its secret (shown this once) unless it is public.
	Client *Client `json:"client"`
}

// ListClientsRequest is the (empty) request of [AuthService.ListClients].
type ListClientsRequest struct{}

// ListClientsResponse is the answer of [AuthService.ListClients].
type ListClientsResponse struct {
	// Clients are the namespace's OAuth clients, without their secrets.
	Clients []*Client `json:"clients"`
}

// DeleteClientRequest is the request of [AuthService.DeleteClient].
type DeleteClientRequest struct {
	// Id of the client.
	Id string `json:"id,omitempty"`
}

// DeleteClientResponse is the (empty) answer of [AuthService.DeleteClient].
type DeleteClientResponse struct{}

// CreateProviderRequest is the request of [AuthService.CreateProvider].
type CreateProviderRequest struct {
	// Id names it in URLs: 1 to 63 lower-case letters, digits and hyphens; required.
	Id string `json:"id"`
	// Kind is "oidc" (OpenID Connect: Issuer alone, its discovery document fetched now)
	// or "oauth2" (plain OAuth 2.0: the three endpoints); required.
	Kind string `json:"kind"`
	// Name is on the sign-in page's button; required.
	Name string `json:"name"`
	// ClientId is micro-user's client id at the provider; required.
	ClientId string `json:"client_id"`
	// ClientSecret is kept sealed and never shown again; required.
	ClientSecret string `json:"client_secret"`
	// Issuer of an OpenID Connect provider.
	Issuer string `json:"issuer,omitempty"`
	// AuthorizationEndpoint of a plain OAuth 2.0 provider: https (http only on
	// loopback), as are the other endpoints.
	AuthorizationEndpoint string `json:"authorization_endpoint,omitempty"`
	// TokenEndpoint of a plain OAuth 2.0 provider.
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// UserinfoEndpoint of a plain OAuth 2.0 provider: where it says who signed in.
	UserinfoEndpoint string `json:"userinfo_endpoint,omitempty"`
	// Scopes to ask for (default for OpenID Connect: openid, email, profile; they must
	// include openid).
	Scopes []string `json:"scopes,omitempty"`
	// SubjectClaim is the userinfo field of the user's id (plain OAuth 2.0; default "id").
	SubjectClaim string `json:"subject_claim,omitempty"`
	// EmailClaim is the userinfo field of the email address (default "email").
	EmailClaim string `json:"email_claim,omitempty"`
	// VerifiedClaim is the userinfo field saying the address is verified (plain OAuth
	// 2.0; none by default).
	VerifiedClaim string `json:"verified_claim,omitempty"`
	// KeepTokens keeps the provider's tokens (sealed) after each sign-in.
	KeepTokens bool `json:"keep_tokens,omitempty"`
}

// CreateProviderResponse is the answer of [AuthService.CreateProvider].
type CreateProviderResponse struct {
	// Provider is the new provider (without its secret).
	Provider *Provider `json:"provider"`
}

// ListProvidersRequest is the (empty) request of [AuthService.ListProviders].
type ListProvidersRequest struct{}

// ListProvidersResponse is the answer of [AuthService.ListProviders].
type ListProvidersResponse struct {
	// Providers are the namespace's identity providers, without their secrets.
	Providers []*Provider `json:"providers"`
}

// DeleteProviderRequest is the request of [AuthService.DeleteProvider].
type DeleteProviderRequest struct {
	// Id of the provider.
	Id string `json:"id,omitempty"`
}

// DeleteProviderResponse is the (empty) answer of [AuthService.DeleteProvider].
type DeleteProviderResponse struct{}

// ReadFactorPolicyRequest is the (empty) request of [AuthService.ReadFactorPolicy].
type ReadFactorPolicyRequest struct{}

// ReadFactorPolicyResponse is the answer of [AuthService.ReadFactorPolicy].
type ReadFactorPolicyResponse struct {
	// Policy is the namespace's factor policy.
	Policy *FactorPolicy `json:"policy"`
}

// SetFactorPolicyRequest is the request of [AuthService.SetFactorPolicy].
type SetFactorPolicyRequest struct {
	// Required is "none" (each user's choice), "everyone", or "roles"; required.
	Required string `json:"required"`
	// Roles whose holders must have a second factor: given with "roles", and only with it.
	Roles []string `json:"roles,omitempty"`
}

// SetFactorPolicyResponse is the answer of [AuthService.SetFactorPolicy].
type SetFactorPolicyResponse struct {
	// Policy is the namespace's factor policy, as set.
	Policy *FactorPolicy `json:"policy"`
}

// CreateRuleRequest is the request of [AuthService.CreateRule].
type CreateRuleRequest struct {
	// Rule to create. Its Id is generated ("rule-...") when empty; its Access is
	// Granted when empty; its resource's three parts are required ("*" for any).
	Rule *Rule `json:"rule,omitempty"`
}

// CreateRuleResponse is the (empty) answer of [AuthService.CreateRule].
type CreateRuleResponse struct{}

// DeleteRuleRequest is the request of [AuthService.DeleteRule].
type DeleteRuleRequest struct {
	// Id of the rule.
	Id string `json:"id,omitempty"`
}

// DeleteRuleResponse is the (empty) answer of [AuthService.DeleteRule].
type DeleteRuleResponse struct{}

// ListRulesRequest is the (empty) request of [AuthService.ListRules].
type ListRulesRequest struct{}

// ListRulesResponse is the answer of [AuthService.ListRules].
type ListRulesResponse struct {
	// Rules are the namespace's own rules, without the built-in ones
	// (rules.BuiltinRules): add those to evaluate as the server does.
	Rules []Rule `json:"rules"`
}

// CreateRoleRequest is the request of [AuthService.CreateRole].
type CreateRoleRequest struct {
	// Name of the role: 1 to 64 letters, digits, '_', '.', ':' or '-'.
	Name string `json:"name,omitempty"`
	// Description is for people.
	Description string `json:"description,omitempty"`
}

// CreateRoleResponse is the (empty) answer of [AuthService.CreateRole].
type CreateRoleResponse struct{}

// DeleteRoleRequest is the request of [AuthService.DeleteRole].
type DeleteRoleRequest struct {
	// Name of the role.
	Name string `json:"name,omitempty"`
}

// DeleteRoleResponse is the (empty) answer of [AuthService.DeleteRole].
type DeleteRoleResponse struct{}

// ListRolesRequest is the (empty) request of [AuthService.ListRoles].
type ListRolesRequest struct{}

// ListRolesResponse is the answer of [AuthService.ListRoles].
type ListRolesResponse struct {
	// Roles are the namespace's roles, the built-in admin role included.
	Roles []*Role `json:"roles"`
}

// GrantRoleRequest is the request of [AuthService.GrantRole].
type GrantRoleRequest struct {
	// Role to grant; it must exist, except "admin".
	Role string `json:"role,omitempty"`
	// AccountType is "user" (when empty) or "service".
	AccountType string `json:"account_type,omitempty"`
	// AccountId is the id of the account.
	AccountId string `json:"account_id,omitempty"`
}

// GrantRoleResponse is the (empty) answer of [AuthService.GrantRole].
type GrantRoleResponse struct{}

// RevokeRoleRequest is the request of [AuthService.RevokeRole].
type RevokeRoleRequest struct {
	// Role to revoke.
	Role string `json:"role,omitempty"`
	// AccountType is "user" (when empty) or "service".
	AccountType string `json:"account_type,omitempty"`
	// AccountId is the id of the account.
	AccountId string `json:"account_id,omitempty"`
}

// RevokeRoleResponse is the (empty) answer of [AuthService.RevokeRole].
type RevokeRoleResponse struct{}

// AuthService calls the endpoints of the auth service. It is safe for concurrent use.
type AuthService struct {
	client *microuser.Client
}

// NewAuthService returns the auth service of the server c calls. Most endpoints need
// an API key (or a token) allowed to call them: the admin key may call all of them.
func NewAuthService(c *microuser.Client) *AuthService {
	return &AuthService{client: c}
}

// call sends req (an empty request when nil) to endpoint and decodes the answer.
func call[Req, Rsp any](ctx context.Context, s *AuthService, endpoint string, req *Req) (*Rsp, error) {
	return rpc.Call[Req, Rsp](ctx, s.client, Service, endpoint, req)
}

// Generate creates a service account, granted the roles in Scopes, and returns it with
// its secret (shown once), for Token's client-credentials grant. A taken id or an
// unknown role is a 400 or 404 (ID "auth.generate").
func (s *AuthService) Generate(ctx context.Context, req *GenerateRequest) (*GenerateResponse, error) {
	rsp, err := call[GenerateRequest, GenerateResponse](ctx, s, "Auth/Generate", req)
	return rpc.Require(rsp, err, Service, "Auth/Generate", "account", func(r *GenerateResponse) *Account { return r.Account })
}

// Inspect returns the account an access token belongs to, as the token says. A token
// that is malformed, forged, expired or revoked is a 401 (ID "auth.inspect").
func (s *AuthService) Inspect(ctx context.Context, req *InspectRequest) (*InspectResponse, error) {
	rsp, err := call[InspectRequest, InspectResponse](ctx, s, "Auth/Inspect", req)
	return rpc.Require(rsp, err, Service, "Auth/Inspect", "account", func(r *InspectResponse) *Account { return r.Account })
}

// Token returns an access token and a refresh token for a service account's Id and
// Secret, a RefreshToken (which works once: a reused one revokes its whole family), or
// a login SessionId. Anyone may call it. Wrong credentials are a 401 (ID "auth.token").
func (s *AuthService) Token(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	rsp, err := call[TokenRequest, TokenResponse](ctx, s, "Auth/Token", req)
	return rpc.Require(rsp, err, Service, "Auth/Token", "token", func(r *TokenResponse) *Token { return r.Token })
}

// Verify says whether a token (or, with an empty Token, a caller without an account)
// may access a resource, by the rules of Namespace (by default the token's). A token
// that is not valid is a 401 (ID "auth.verify").
func (s *AuthService) Verify(ctx context.Context, req *VerifyRequest) (*VerifyResponse, error) {
	rsp, err := call[VerifyRequest, VerifyResponse](ctx, s, "Auth/Verify", req)
	return rpc.Require(rsp, err, Service, "Auth/Verify", "account", func(r *VerifyResponse) *Account { return r.Account })
}

// ListAccounts returns the namespace's service accounts (without their secrets).
func (s *AuthService) ListAccounts(ctx context.Context, req *ListAccountsRequest) (*ListAccountsResponse, error) {
	return call[ListAccountsRequest, ListAccountsResponse](ctx, s, "Accounts/List", req)
}

// DeleteAccount deletes a service account, its grants and its refresh tokens. An
// unknown account is a 404 (ID "auth.accounts.delete").
func (s *AuthService) DeleteAccount(ctx context.Context, req *DeleteAccountRequest) (*DeleteAccountResponse, error) {
	return call[DeleteAccountRequest, DeleteAccountResponse](ctx, s, "Accounts/Delete", req)
}

// ChangeSecret gives a service account a new secret (shown once) and ends the refresh
// tokens the old one obtained. A wrong OldSecret is a 400, an unknown account a 404 (ID
// "auth.accounts.changesecret").
func (s *AuthService) ChangeSecret(ctx context.Context, req *ChangeSecretRequest) (*ChangeSecretResponse, error) {
	rsp, err := call[ChangeSecretRequest, ChangeSecretResponse](ctx, s, "Accounts/ChangeSecret", req)
	return rpc.Require(rsp, err, Service, "Accounts/ChangeSecret", "account", func(r *ChangeSecretResponse) *Account { return r.Account })
}

// CreateRule creates a rule in the caller's namespace. A taken id or a bad resource,
// scope or priority is a 400 (ID "auth.rules.create").
func (s *AuthService) CreateRule(ctx context.Context, req *CreateRuleRequest) (*CreateRuleResponse, error) {
	return call[CreateRuleRequest, CreateRuleResponse](ctx, s, "Rules/Create", req)
}

// DeleteRule deletes a rule. An unknown rule is a 404 (ID "auth.rules.delete").
func (s *AuthService) DeleteRule(ctx context.Context, req *DeleteRuleRequest) (*DeleteRuleResponse, error) {
	return call[DeleteRuleRequest, DeleteRuleResponse](ctx, s, "Rules/Delete", req)
}

// ListRules returns the rules of the caller's namespace, without the built-in ones.
func (s *AuthService) ListRules(ctx context.Context, req *ListRulesRequest) (*ListRulesResponse, error) {
	return call[ListRulesRequest, ListRulesResponse](ctx, s, "Rules/List", req)
}

// CreateRole creates a role. A taken or malformed name is a 400 (ID "auth.roles.create").
func (s *AuthService) CreateRole(ctx context.Context, req *CreateRoleRequest) (*CreateRoleResponse, error) {
	return call[CreateRoleRequest, CreateRoleResponse](ctx, s, "Roles/Create", req)
}

// DeleteRole deletes a role and every grant of it. An unknown role is a 404, the
// built-in admin role a 400 (ID "auth.roles.delete").
func (s *AuthService) DeleteRole(ctx context.Context, req *DeleteRoleRequest) (*DeleteRoleResponse, error) {
	return call[DeleteRoleRequest, DeleteRoleResponse](ctx, s, "Roles/Delete", req)
}

// ListRoles returns the namespace's roles, the built-in admin role included.
func (s *AuthService) ListRoles(ctx context.Context, req *ListRolesRequest) (*ListRolesResponse, error) {
	return call[ListRolesRequest, ListRolesResponse](ctx, s, "Roles/List", req)
}

// GrantRole grants a role to a user or service account. Tokens issued from then on
// carry it in their scopes; tokens already issued do not. An unknown role or account
// is a 404 (ID "auth.roles.grant").
func (s *AuthService) GrantRole(ctx context.Context, req *GrantRoleRequest) (*GrantRoleResponse, error) {
	return call[GrantRoleRequest, GrantRoleResponse](ctx, s, "Roles/Grant", req)
}

// RevokeRole revokes a role from an account. A grant that does not exist is a 404 (ID
// "auth.roles.revoke").
func (s *AuthService) RevokeRole(ctx context.Context, req *RevokeRoleRequest) (*RevokeRoleResponse, error) {
	return call[RevokeRoleRequest, RevokeRoleResponse](ctx, s, "Roles/Revoke", req)
}

// CreateClient registers an OAuth client. A malformed name, redirect URI or scope is a
// 400 (ID "auth.clients.create").
func (s *AuthService) CreateClient(ctx context.Context, req *CreateClientRequest) (*CreateClientResponse, error) {
	rsp, err := call[CreateClientRequest, CreateClientResponse](ctx, s, "Clients/Create", req)
	return rpc.Require(rsp, err, Service, "Clients/Create", "client", func(r *CreateClientResponse) *Client { return r.Client })
}

// ListClients returns the namespace's OAuth clients (without their secrets).
func (s *AuthService) ListClients(ctx context.Context, req *ListClientsRequest) (*ListClientsResponse, error) {
	return call[ListClientsRequest, ListClientsResponse](ctx, s, "Clients/List", req)
}

// DeleteClient deletes an OAuth client. An unknown client is a 404 (ID
// "auth.clients.delete").
func (s *AuthService) DeleteClient(ctx context.Context, req *DeleteClientRequest) (*DeleteClientResponse, error) {
	return call[DeleteClientRequest, DeleteClientResponse](ctx, s, "Clients/Delete", req)
}

// CreateProvider adds an external identity provider; the hosted sign-in page shows a
// button for it. A bad field, an issuer without a matching discovery document, or a
// taken id is a 400 (ID "auth.providers.create").
func (s *AuthService) CreateProvider(ctx context.Context, req *CreateProviderRequest) (*CreateProviderResponse, error) {
	rsp, err := call[CreateProviderRequest, CreateProviderResponse](ctx, s, "Providers/Create", req)
	return rpc.Require(rsp, err, Service, "Providers/Create", "provider", func(r *CreateProviderResponse) *Provider { return r.Provider })
}

// ListProviders returns the namespace's identity providers (without their secrets).
func (s *AuthService) ListProviders(ctx context.Context, req *ListProvidersRequest) (*ListProvidersResponse, error) {
	return call[ListProvidersRequest, ListProvidersResponse](ctx, s, "Providers/List", req)
}

// DeleteProvider removes an identity provider and the links of accounts to it. An
// unknown provider is a 404 (ID "auth.providers.delete").
func (s *AuthService) DeleteProvider(ctx context.Context, req *DeleteProviderRequest) (*DeleteProviderResponse, error) {
	return call[DeleteProviderRequest, DeleteProviderResponse](ctx, s, "Providers/Delete", req)
}

// ReadFactorPolicy returns who in the namespace must have a second factor.
func (s *AuthService) ReadFactorPolicy(ctx context.Context, req *ReadFactorPolicyRequest) (*ReadFactorPolicyResponse, error) {
	rsp, err := call[ReadFactorPolicyRequest, ReadFactorPolicyResponse](ctx, s, "FactorPolicy/Read", req)
	return rpc.Require(rsp, err, Service, "FactorPolicy/Read", "policy", func(r *ReadFactorPolicyResponse) *FactorPolicy { return r.Policy })
}

// SetFactorPolicy requires a second factor of nobody, everyone, or the holders of some
// roles (who then set one up inside their next sign-in). "roles" without Roles, or
// Roles with another choice, is a 400 (ID "factors.policy").
func (s *AuthService) SetFactorPolicy(ctx context.Context, req *SetFactorPolicyRequest) (*SetFactorPolicyResponse, error) {
	rsp, err := call[SetFactorPolicyRequest, SetFactorPolicyResponse](ctx, s, "FactorPolicy/Set", req)
	return rpc.Require(rsp, err, Service, "FactorPolicy/Set", "policy", func(r *SetFactorPolicyResponse) *FactorPolicy { return r.Policy })
}
