// Package user is the client of micro-user's user service: accounts, passwords,
// sessions and the emailed flows (verification, password reset, magic link), one
// method per endpoint of the Micro user API.
//
//	client := microuser.NewClient(microuser.WithAddress("http://localhost:8080"), microuser.WithToken(key))
//	users := user.NewUserService(client)
//	rsp, err := users.Create(ctx, &user.CreateRequest{Email: "ada@example.com", Username: "ada", Password: "correct horse"})
//
// Requests and responses mirror the proto messages; their JSON uses the proto field
// names, and int64 fields travel as JSON strings. In a request an empty string or a zero
// means "not given", as in the proto. Every method returns an [*microuser.Error] when
// the server answers with an error, and a [*microuser.TransportError] when it does not
// answer.
package user

import (
	"context"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/internal/rpc"
)

// Service is the name of the user service in call paths: /v1/user/{Endpoint}.
const Service = "user"

// Account is a user account. Times are unix seconds.
type Account struct {
	// Id is unique, chosen at Create or generated.
	Id string `json:"id"`
	// Username is unique, trimmed and lower-cased; it may be empty.
	Username string `json:"username"`
	// Email is unique, trimmed and lower-cased.
	Email string `json:"email"`
	// Created is when the account was made.
	Created int64 `json:"created,string"`
	// Updated is when the account last changed.
	Updated int64 `json:"updated,string"`
	// Verified says whether the email address has been verified.
	Verified bool `json:"verified"`
	// VerificationDate is when the email address was verified, 0 until then.
	VerificationDate int64 `json:"verification_date,string"`
	// Profile is free-form data of the account.
	Profile map[string]string `json:"profile"`
}

// Session is a login session of the account UserId, valid until Expires.
// Times are unix seconds.
type Session struct {
	// Id is the session id: the secret a caller presents to ReadSession.
	Id string `json:"id"`
	// UserId is the id of the session's account (the proto field is named userId).
	UserId string `json:"userId"`
	// Created is when the session started.
	Created int64 `json:"created,string"`
	// Expires is when the session ends unless ended before.
	Expires int64 `json:"expires,string"`
}

// CreateRequest is the request of [UserService.Create].
type CreateRequest struct {
	// Id of the new account; generated when empty.
	Id string `json:"id,omitempty"`
	// Username, optional; trimmed and lower-cased.
	Username string `json:"username,omitempty"`
	// Email, required; trimmed and lower-cased.
	Email string `json:"email,omitempty"`
	// Password, at least 8 characters.
	Password string `json:"password,omitempty"`
	// Profile is free-form data kept with the account.
	Profile map[string]string `json:"profile,omitempty"`
}

// CreateResponse is the answer of [UserService.Create].
type CreateResponse struct {
	// Account is the new account.
	Account *Account `json:"account"`
}

// ReadRequest is the request of [UserService.Read]: one of its fields is enough.
type ReadRequest struct {
	// Id of the account.
	Id string `json:"id,omitempty"`
	// Username of the account, in any case.
	Username string `json:"username,omitempty"`
	// Email of the account, in any case.
	Email string `json:"email,omitempty"`
}

// ReadResponse is the answer of [UserService.Read].
type ReadResponse struct {
	// Account is the account found.
	Account *Account `json:"account"`
}

// UpdateRequest is the request of [UserService.Update]: empty fields are kept as they are.
type UpdateRequest struct {
	// Id of the account to change, required.
	Id string `json:"id,omitempty"`
	// Username, the new one.
	Username string `json:"username,omitempty"`
	// Email, the new one; changing it clears Verified.
	Email string `json:"email,omitempty"`
	// Profile replaces the whole profile when it is not empty.
	Profile map[string]string `json:"profile,omitempty"`
	// Password is micro-user's addition: the current password, which a user changing
	// their own email with their session or token must give.
	Password string `json:"password,omitempty"`
}

// UpdateResponse is the (empty) answer of [UserService.Update].
type UpdateResponse struct{}

// DeleteRequest is the request of [UserService.Delete].
type DeleteRequest struct {
	// Id of the account to delete.
	Id string `json:"id,omitempty"`
}

// DeleteResponse is the (empty) answer of [UserService.Delete].
type DeleteResponse struct{}

// ListRequest is the request of [UserService.List].
type ListRequest struct {
	// Offset is how many accounts to skip.
	Offset uint32 `json:"offset,omitempty"`
	// Limit is how many accounts to return: 25 when 0, at most 1000.
	Limit uint32 `json:"limit,omitempty"`
}

// ListResponse is the answer of [UserService.List].
type ListResponse struct {
	// Users are the accounts, oldest first (by created, then id).
	Users []*Account `json:"users"`
}

// UpdatePasswordRequest is the request of [UserService.UpdatePassword].
type UpdatePasswordRequest struct {
	// UserId is the id of the account (the proto field is named userId).
	UserId string `json:"userId,omitempty"`
	// OldPassword is the current password.
	OldPassword string `json:"old_password,omitempty"`
	// NewPassword is the new password, at least 8 characters.
	NewPassword string `json:"new_password,omitempty"`
	// ConfirmPassword must equal NewPassword.
	ConfirmPassword string `json:"confirm_password,omitempty"`
}

// UpdatePasswordResponse is the (empty) answer of [UserService.UpdatePassword].
type UpdatePasswordResponse struct{}

// LoginRequest is the request of [UserService.Login]: a username or an email, and the password.
type LoginRequest struct {
	// Username of the account.
	Username string `json:"username,omitempty"`
	// Email of the account.
	Email string `json:"email,omitempty"`
	// Password of the account.
	Password string `json:"password,omitempty"`
	// FactorCode is, for an account with two-step sign-in (which answers 401 with ID
	// "user.login.second_factor" without it), a code of its authenticator app or a
	// recovery code.
	FactorCode string `json:"factor_code,omitempty"`
}

// LoginResponse is the answer of [UserService.Login].
type LoginResponse struct {
	// Session is the new session.
	Session *Session `json:"session"`
}

// LogoutRequest is the request of [UserService.Logout].
type LogoutRequest struct {
	// SessionId is the id of the session to end.
	SessionId string `json:"session_id,omitempty"`
}

// LogoutResponse is the (empty) answer of [UserService.Logout].
type LogoutResponse struct{}

// LogoutAllRequest is the request of [UserService.LogoutAll].
type LogoutAllRequest struct {
	// UserId is the id of the account whose sessions end.
	UserId string `json:"user_id,omitempty"`
}

// LogoutAllResponse is the (empty) answer of [UserService.LogoutAll].
type LogoutAllResponse struct{}

// ReadSessionRequest is the request of [UserService.ReadSession].
type ReadSessionRequest struct {
	// SessionId is the id of the session to read.
	SessionId string `json:"session_id,omitempty"`
}

// ReadSessionResponse is the answer of [UserService.ReadSession].
type ReadSessionResponse struct {
	// Session is the live session.
	Session *Session `json:"session"`
	// Account is the session's account.
	Account *Account `json:"account"`
}

// SendVerificationEmailRequest is the request of [UserService.SendVerificationEmail].
type SendVerificationEmailRequest struct {
	// Email is the address to verify.
	Email string `json:"email,omitempty"`
	// Subject of the mail.
	Subject string `json:"subject,omitempty"`
	// TextContent is the body of the mail; it must contain $micro_verification_link,
	// which is replaced by the link.
	TextContent string `json:"text_content,omitempty"`
	// RedirectUrl is where the link sends the browser after verifying.
	RedirectUrl string `json:"redirect_url,omitempty"`
	// FailureRedirectUrl is where the link sends the browser when it is expired or used.
	FailureRedirectUrl string `json:"failure_redirect_url,omitempty"`
	// FromName is the sender's display name.
	FromName string `json:"from_name,omitempty"`
}

// SendVerificationEmailResponse is the (empty) answer of [UserService.SendVerificationEmail].
type SendVerificationEmailResponse struct{}

// VerifyEmailRequest is the request of [UserService.VerifyEmail].
type VerifyEmailRequest struct {
	// Token is the token of the verification link.
	Token string `json:"token,omitempty"`
}

// VerifyEmailResponse is the (empty) answer of [UserService.VerifyEmail].
type VerifyEmailResponse struct{}

// SendPasswordResetEmailRequest is the request of [UserService.SendPasswordResetEmail].
type SendPasswordResetEmailRequest struct {
	// Email is the address of the account.
	Email string `json:"email,omitempty"`
	// Subject of the mail.
	Subject string `json:"subject,omitempty"`
	// TextContent is the body of the mail; it must contain $code, which is replaced
	// by the one-time code.
	TextContent string `json:"text_content,omitempty"`
	// FromName is the sender's display name.
	FromName string `json:"from_name,omitempty"`
	// Expiration is how many seconds the code is valid (1800 when 0).
	Expiration int64 `json:"expiration,omitempty,string"`
}

// SendPasswordResetEmailResponse is the (empty) answer of [UserService.SendPasswordResetEmail].
type SendPasswordResetEmailResponse struct{}

// ResetPasswordRequest is the request of [UserService.ResetPassword].
type ResetPasswordRequest struct {
	// Email is the address of the account.
	Email string `json:"email,omitempty"`
	// Code is the one-time code from the mail.
	Code string `json:"code,omitempty"`
	// NewPassword is the new password, at least 8 characters.
	NewPassword string `json:"new_password,omitempty"`
	// ConfirmPassword must equal NewPassword.
	ConfirmPassword string `json:"confirm_password,omitempty"`
}

// ResetPasswordResponse is the (empty) answer of [UserService.ResetPassword].
type ResetPasswordResponse struct{}

// SendMagicLinkRequest is the request of [UserService.SendMagicLink].
type SendMagicLinkRequest struct {
	// Email is the address of the account.
	Email string `json:"email,omitempty"`
	// Subject of the mail.
	Subject string `json:"subject,omitempty"`
	// TextContent is the body of the mail; it must contain $micro_verification_link,
	// which is replaced by the link.
	TextContent string `json:"text_content,omitempty"`
	// FromName is the sender's display name.
	FromName string `json:"from_name,omitempty"`
	// Address is the host of the link: https://{address}/{endpoint}/{token}.
	Address string `json:"address,omitempty"`
	// Endpoint is the path of the link: https://{address}/{endpoint}/{token}.
	Endpoint string `json:"endpoint,omitempty"`
}

// SendMagicLinkResponse is the (empty) answer of [UserService.SendMagicLink].
type SendMagicLinkResponse struct{}

// VerifyTokenRequest is the request of [UserService.VerifyToken].
type VerifyTokenRequest struct {
	// Token is the token of the magic link.
	Token string `json:"token,omitempty"`
}

// StartTotpRequest is the request of [UserService.StartTotp].
type StartTotpRequest struct {
	// UserId is the account's id.
	UserId string `json:"user_id,omitempty"`
}

// StartTotpResponse is the answer of [UserService.StartTotp].
type StartTotpResponse struct {
	// Secret is the authenticator key (base32).
	Secret string `json:"secret"`
	// Uri is its otpauth:// URI, for a QR code.
	Uri string `json:"uri"`
}

// FactorCodeRequest is the request of [UserService.ConfirmTotp],
// [UserService.RegenerateRecoveryCodes] and [UserService.RemoveFactors].
type FactorCodeRequest struct {
	// UserId is the account's id.
	UserId string `json:"user_id,omitempty"`
	// Code is a code of the authenticator app (or, once it is in force, a recovery code).
	Code string `json:"code,omitempty"`
}

// RecoveryCodesResponse is the answer of [UserService.ConfirmTotp] and
// [UserService.RegenerateRecoveryCodes]: the recovery codes, shown only now.
type RecoveryCodesResponse struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// RemoveFactorsResponse is the (empty) answer of [UserService.RemoveFactors].
type RemoveFactorsResponse struct{}

// VerifyTokenResponse is the answer of [UserService.VerifyToken].
type VerifyTokenResponse struct {
	// IsValid says whether the token was good; then Session is the new session.
	IsValid bool `json:"is_valid"`
	// Message says why the token was not valid.
	Message string `json:"message"`
	// Session is the new session when IsValid, and nil otherwise.
	Session *Session `json:"session"`
}

// UserService calls the endpoints of the user service. It is safe for concurrent use.
type UserService struct {
	client *microuser.Client
}

// NewUserService returns the user service of the server c calls.
func NewUserService(c *microuser.Client) *UserService {
	return &UserService{client: c}
}

// call sends req (an empty request when nil) to endpoint and decodes the answer.
func call[Req, Rsp any](ctx context.Context, s *UserService, endpoint string, req *Req) (*Rsp, error) {
	return rpc.Call[Req, Rsp](ctx, s.client, Service, endpoint, req)
}

// Create registers an account. Username and email are trimmed and lower-cased, the
// email must look like one, and the password must have at least 8 characters. A taken
// id, username or email is an [*microuser.Error] with code 400 and ID
// "users-userId-check", "users-username-check" or "users-email-check".
func (s *UserService) Create(ctx context.Context, req *CreateRequest) (*CreateResponse, error) {
	rsp, err := call[CreateRequest, CreateResponse](ctx, s, "Create", req)
	return rpc.Require(rsp, err, Service, "Create", "account", func(r *CreateResponse) *Account { return r.Account })
}

// Read reads an account by id, else username, else email (case-insensitive). An
// unknown account is a 404 (ID "user.read"), an empty request a 400.
func (s *UserService) Read(ctx context.Context, req *ReadRequest) (*ReadResponse, error) {
	rsp, err := call[ReadRequest, ReadResponse](ctx, s, "Read", req)
	return rpc.Require(rsp, err, Service, "Read", "account", func(r *ReadResponse) *Account { return r.Account })
}

// Update changes the given fields of account Id; empty ones are kept. A new email
// clears Verified; a given profile replaces the whole profile.
func (s *UserService) Update(ctx context.Context, req *UpdateRequest) (*UpdateResponse, error) {
	return call[UpdateRequest, UpdateResponse](ctx, s, "Update", req)
}

// Delete deletes an account and ends its sessions. An unknown account is a 404.
func (s *UserService) Delete(ctx context.Context, req *DeleteRequest) (*DeleteResponse, error) {
	return call[DeleteRequest, DeleteResponse](ctx, s, "Delete", req)
}

// List returns accounts, oldest first: Limit of them (25 when 0, at most 1000) after
// skipping Offset.
func (s *UserService) List(ctx context.Context, req *ListRequest) (*ListResponse, error) {
	return call[ListRequest, ListResponse](ctx, s, "List", req)
}

// UpdatePassword changes the password of account UserId, given its current one. New and
// confirm must match (400), and a wrong old password is refused (401, as in Micro; ID
// "user.updatepassword" for both). The account's sessions live on: call LogoutAll when they
// should not.
func (s *UserService) UpdatePassword(ctx context.Context, req *UpdatePasswordRequest) (*UpdatePasswordResponse, error) {
	return call[UpdatePasswordRequest, UpdatePasswordResponse](ctx, s, "UpdatePassword", req)
}

// Login starts a session for the account with this username or email and password
// (sessions last 7 days by default). Wrong credentials and an unknown account are the
// same 401 (ID "user.login").
func (s *UserService) Login(ctx context.Context, req *LoginRequest) (*LoginResponse, error) {
	rsp, err := call[LoginRequest, LoginResponse](ctx, s, "Login", req)
	return rpc.Require(rsp, err, Service, "Login", "session", func(r *LoginResponse) *Session { return r.Session })
}

// Logout ends a session. A session that is unknown or already over is a 404.
func (s *UserService) Logout(ctx context.Context, req *LogoutRequest) (*LogoutResponse, error) {
	return call[LogoutRequest, LogoutResponse](ctx, s, "Logout", req)
}

// LogoutAll ends every session of account UserId.
func (s *UserService) LogoutAll(ctx context.Context, req *LogoutAllRequest) (*LogoutAllResponse, error) {
	return call[LogoutAllRequest, LogoutAllResponse](ctx, s, "LogoutAll", req)
}

// ReadSession returns a live session and its account. A session that is unknown,
// expired or ended is a 401 (ID "user.readsession").
func (s *UserService) ReadSession(ctx context.Context, req *ReadSessionRequest) (*ReadSessionResponse, error) {
	rsp, err := call[ReadSessionRequest, ReadSessionResponse](ctx, s, "ReadSession", req)
	rsp, err = rpc.Require(rsp, err, Service, "ReadSession", "session", func(r *ReadSessionResponse) *Session { return r.Session })
	return rpc.Require(rsp, err, Service, "ReadSession", "account", func(r *ReadSessionResponse) *Account { return r.Account })
}

// SendVerificationEmail mails a verification link to Email. TextContent must contain
// $micro_verification_link; opening the link verifies the address and redirects to
// RedirectUrl (or FailureRedirectUrl when it is expired or used).
func (s *UserService) SendVerificationEmail(ctx context.Context, req *SendVerificationEmailRequest) (*SendVerificationEmailResponse, error) {
	return call[SendVerificationEmailRequest, SendVerificationEmailResponse](ctx, s, "SendVerificationEmail", req)
}

// VerifyEmail verifies an address with the token of its verification link. The token
// works once; an unknown, expired or used one is a 400 (ID "user.verifyemail").
func (s *UserService) VerifyEmail(ctx context.Context, req *VerifyEmailRequest) (*VerifyEmailResponse, error) {
	return call[VerifyEmailRequest, VerifyEmailResponse](ctx, s, "VerifyEmail", req)
}

// SendPasswordResetEmail mails a one-time reset code to Email. TextContent must contain
// $code; the code expires after Expiration seconds (1800 when 0). An unknown email is
// answered as a known one, without a mail.
func (s *UserService) SendPasswordResetEmail(ctx context.Context, req *SendPasswordResetEmailRequest) (*SendPasswordResetEmailResponse, error) {
	return call[SendPasswordResetEmailRequest, SendPasswordResetEmailResponse](ctx, s, "SendPasswordResetEmail", req)
}

// ResetPassword sets a new password with a mailed reset code, and ends every session of
// the account. A wrong, expired or used code is a 400.
func (s *UserService) ResetPassword(ctx context.Context, req *ResetPasswordRequest) (*ResetPasswordResponse, error) {
	return call[ResetPasswordRequest, ResetPasswordResponse](ctx, s, "ResetPassword", req)
}

// SendMagicLink mails a one-time login link https://{Address}/{Endpoint}/{token} to
// Email. An unknown email is answered as a known one, without a mail.
func (s *UserService) SendMagicLink(ctx context.Context, req *SendMagicLinkRequest) (*SendMagicLinkResponse, error) {
	return call[SendMagicLinkRequest, SendMagicLinkResponse](ctx, s, "SendMagicLink", req)
}

// VerifyToken turns a magic-link token into a new session. An unknown, expired, used
// or empty token is not an error: IsValid is false, Message says why, and Session is nil.
func (s *UserService) VerifyToken(ctx context.Context, req *VerifyTokenRequest) (*VerifyTokenResponse, error) {
	rsp, err := call[VerifyTokenRequest, VerifyTokenResponse](ctx, s, "VerifyToken", req)
	if err != nil {
		return nil, err
	}
	if !rsp.IsValid || (rsp.Session != nil && rsp.Session.Id == "") {
		// The wire always carries a session; an empty one means there is none.
		rsp.Session = nil
	}
	if rsp.IsValid && rsp.Session == nil {
		return nil, rpc.Incomplete(Service, "VerifyToken", "session")
	}
	return rsp, nil
}

// StartTotp begins setting up an authenticator app for an account (micro-user's
// addition): its key and otpauth:// URI. It is not in force until ConfirmTotp.
func (s *UserService) StartTotp(ctx context.Context, req *StartTotpRequest) (*StartTotpResponse, error) {
	return call[StartTotpRequest, StartTotpResponse](ctx, s, "StartTotp", req)
}

// ConfirmTotp puts the authenticator in force with a code from it, and answers the ten
// recovery codes (shown only now). From then on Login needs FactorCode; without it, it
// answers 401 with ID "user.login.second_factor".
func (s *UserService) ConfirmTotp(ctx context.Context, req *FactorCodeRequest) (*RecoveryCodesResponse, error) {
	return call[FactorCodeRequest, RecoveryCodesResponse](ctx, s, "ConfirmTotp", req)
}

// RegenerateRecoveryCodes answers new recovery codes, given a current code; the old ones
// stop working. A wrong code is a 401 (ID "user.regeneraterecoverycodes").
func (s *UserService) RegenerateRecoveryCodes(ctx context.Context, req *FactorCodeRequest) (*RecoveryCodesResponse, error) {
	return call[FactorCodeRequest, RecoveryCodesResponse](ctx, s, "RegenerateRecoveryCodes", req)
}

// RemoveFactors turns two-step sign-in off, given a current code. A wrong code is a 401
// (ID "user.removefactors").
func (s *UserService) RemoveFactors(ctx context.Context, req *FactorCodeRequest) (*RemoveFactorsResponse, error) {
	return call[FactorCodeRequest, RemoveFactorsResponse](ctx, s, "RemoveFactors", req)
}
