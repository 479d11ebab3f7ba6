package user_test

// Every method against the live server: what the SDK sends and reads, errors, and the
// emailed flows (the server's console mail sender writes mails to its log, read here).

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/user"
)

const password = "correct horse 1"

// newAccount creates an account with a unique username and email, and the password above.
func newAccount(t *testing.T, users *user.UserService) *user.Account {
	t.Helper()
	name := unique("gosdk")
	rsp, err := users.Create(testContext(t), &user.CreateRequest{
		Username: name, Email: name + "@example.com", Password: password,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return rsp.Account
}

// apiError is err as a *microuser.Error, or a test failure.
func apiError(t *testing.T, err error) *microuser.Error {
	t.Helper()
	var apiErr *microuser.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not a *microuser.Error", err, err)
	}
	return apiErr
}

func TestAccountRoundTrip(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	before := time.Now().Unix()
	name := unique("round")
	created, err := users.Create(ctx, &user.CreateRequest{
		Id: "id-" + name, Username: " " + strings.ToUpper(name) + " ", Email: name + "@Example.COM",
		Password: password, Profile: map[string]string{"team": "compilers", "desk": "7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := created.Account
	if a.Id != "id-"+name || a.Username != name || a.Email != name+"@example.com" {
		t.Errorf("created %+v", a)
	}
	if a.Created < before-5 || a.Created > time.Now().Unix()+5 || a.Updated < a.Created {
		t.Errorf("times created %d updated %d, now %d", a.Created, a.Updated, time.Now().Unix())
	}
	if a.Verified || a.VerificationDate != 0 || a.Profile["team"] != "compilers" || a.Profile["desk"] != "7" {
		t.Errorf("created %+v", a)
	}

	read, err := users.Read(ctx, &user.ReadRequest{Email: strings.ToUpper(a.Email)})
	if err != nil {
		t.Fatal(err)
	}
	if read.Account.Id != a.Id || read.Account.Created != a.Created || len(read.Account.Profile) != 2 {
		t.Errorf("read %+v, created %+v", read.Account, a)
	}

	// Update changes what is given and keeps the rest.
	if _, err := users.Update(ctx, &user.UpdateRequest{Id: a.Id, Profile: map[string]string{"team": "engines"}}); err != nil {
		t.Fatal(err)
	}
	read, err = users.Read(ctx, &user.ReadRequest{Id: a.Id})
	if err != nil {
		t.Fatal(err)
	}
	if read.Account.Username != name || read.Account.Profile["team"] != "engines" || len(read.Account.Profile) != 1 {
		t.Errorf("after update: %+v", read.Account)
	}

	// List finds it, with every field.
	list, err := users.List(ctx, &user.ListRequest{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var found *user.Account
	for _, u := range list.Users {
		if u.Id == a.Id {
			found = u
		}
	}
	if found == nil || found.Email != a.Email || found.Created != a.Created {
		t.Errorf("list has %+v", found)
	}

	if _, err := users.Delete(ctx, &user.DeleteRequest{Id: a.Id}); err != nil {
		t.Fatal(err)
	}
}

func TestListPages(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	for i := 0; i < 3; i++ {
		newAccount(t, users)
	}
	all, err := users.List(ctx, nil) // nil: the defaults (offset 0, limit 25)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Users) < 3 || len(all.Users) > 25 {
		t.Fatalf("List(nil) gave %d accounts", len(all.Users))
	}
	page, err := users.List(ctx, &user.ListRequest{Offset: 1, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Users) != 2 || page.Users[0].Id != all.Users[1].Id || page.Users[1].Id != all.Users[2].Id {
		t.Errorf("page 1+2 is %v, all starts %v %v %v", page.Users, all.Users[0], all.Users[1], all.Users[2])
	}
}

func TestSessions(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	a := newAccount(t, users)

	login, err := users.Login(ctx, &user.LoginRequest{Email: a.Email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	s := login.Session
	if s.Id == "" || s.UserId != a.Id || s.Expires-s.Created != 7*24*3600 {
		t.Errorf("session %+v", s)
	}
	read, err := users.ReadSession(ctx, &user.ReadSessionRequest{SessionId: s.Id})
	if err != nil {
		t.Fatal(err)
	}
	if *read.Session != *s || read.Account.Id != a.Id || read.Account.Email != a.Email {
		t.Errorf("read %+v %+v, logged in %+v", read.Session, read.Account, s)
	}

	// UpdatePassword keeps sessions; LogoutAll ends them.
	if _, err := users.UpdatePassword(ctx, &user.UpdatePasswordRequest{
		UserId: a.Id, OldPassword: password, NewPassword: "a new horse 1", ConfirmPassword: "a new horse 1",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.ReadSession(ctx, &user.ReadSessionRequest{SessionId: s.Id}); err != nil {
		t.Errorf("the session ended with the password change: %v", err)
	}
	if _, err := users.LogoutAll(ctx, &user.LogoutAllRequest{UserId: a.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = users.ReadSession(ctx, &user.ReadSessionRequest{SessionId: s.Id})
	if e := apiError(t, err); e.Code != 401 || e.ID != "user.readsession" {
		t.Errorf("after LogoutAll: %v", e)
	}

	login, err = users.Login(ctx, &user.LoginRequest{Username: a.Username, Password: "a new horse 1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.Logout(ctx, &user.LogoutRequest{SessionId: login.Session.Id}); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	a := newAccount(t, users)

	t.Run("not found", func(t *testing.T) {
		_, err := users.Read(ctx, &user.ReadRequest{Username: unique("nobody")})
		e := apiError(t, err)
		if e.ID != "user.read" || e.Code != 404 || e.Status != "Not Found" || e.Detail == "" {
			t.Errorf("got %+v", e)
		}
		if !strings.Contains(err.Error(), `(404 Not Found, id "user.read")`) {
			t.Errorf("Error() = %q", err)
		}
	})
	t.Run("taken email", func(t *testing.T) {
		_, err := users.Create(ctx, &user.CreateRequest{Email: strings.ToUpper(a.Email), Password: password})
		if e := apiError(t, err); e.ID != "users-email-check" || e.Code != 400 || e.Status != "Bad Request" {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := users.Login(ctx, &user.LoginRequest{Username: a.Username, Password: "wrong horse"})
		if e := apiError(t, err); e.ID != "user.login" || e.Code != 401 {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("nil request", func(t *testing.T) {
		_, err := users.Read(ctx, nil)
		if e := apiError(t, err); e.ID != "user.read" || e.Code != 400 {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("bad key", func(t *testing.T) {
		_, err := newUsers(microuser.WithToken("muk_not_a_key_of_this_server")).Read(ctx, &user.ReadRequest{Id: a.Id})
		if e := apiError(t, err); e.Code != 401 || e.ID != "auth" {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("no key", func(t *testing.T) {
		_, err := newUsers(microuser.WithToken("")).Read(ctx, &user.ReadRequest{Id: a.Id})
		if e := apiError(t, err); e.Code != 401 {
			t.Errorf("got %+v", e)
		}
	})
}

func TestTransportErrors(t *testing.T) {
	t.Run("closed port", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		address := "http://" + l.Addr().String()
		l.Close()
		_, err = newUsers(microuser.WithAddress(address)).Read(testContext(t), &user.ReadRequest{Id: "x"})
		var tErr *microuser.TransportError
		if !errors.As(err, &tErr) {
			t.Fatalf("error %v (%T) is not a *microuser.TransportError", err, err)
		}
		var apiErr *microuser.Error
		if errors.As(err, &apiErr) {
			t.Errorf("a transport error is also a *microuser.Error: %v", err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		_, err := newUsers().Login(ctx, &user.LoginRequest{Username: "whoever", Password: password})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v (%T) is not context.DeadlineExceeded", err, err)
		}
		var tErr *microuser.TransportError
		if !errors.As(err, &tErr) {
			t.Errorf("error %T is not a *microuser.TransportError", err)
		}
	})
}

func TestCallDirectly(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	a := newAccount(t, users)
	client := adminClient()

	// The wire: proto field names, int64 values as JSON strings, every field present.
	var raw map[string]map[string]any
	if err := client.Call(ctx, "user", "read", map[string]string{"id": a.Id}, &raw); err != nil {
		t.Fatal(err)
	}
	acc := raw["account"]
	for _, field := range []string{"created", "updated", "verification_date"} {
		if _, ok := acc[field].(string); !ok {
			t.Errorf("%s is %#v on the wire, want a string", field, acc[field])
		}
	}
	for _, field := range []string{"id", "username", "email", "verified", "profile"} {
		if _, ok := acc[field]; !ok {
			t.Errorf("no %s on the wire: %v", field, acc)
		}
	}
}

// Mail ------------------------------------------------------------------------

var logLineStart = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)

const mailMarker = "development mail sender (not sent):\n"

// mailsTo returns the bodies of the mails to address the server has logged so far.
func mailsTo(address string) []string {
	var bodies []string
	log := server.Log()
	for {
		i := strings.Index(log, mailMarker)
		if i < 0 {
			return bodies
		}
		log = log[i+len(mailMarker):]
		end := len(log)
		if loc := logLineStart.FindStringIndex(log); loc != nil {
			end = loc[0]
		}
		block := log[:end]
		log = log[end:]
		msg, err := mail.ReadMessage(strings.NewReader(block))
		if err != nil || !strings.EqualFold(msg.Header.Get("To"), address) {
			continue
		}
		var body io.Reader = msg.Body
		switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
		}
		text, err := io.ReadAll(body)
		if err == nil {
			bodies = append(bodies, string(text))
		}
	}
}

// newlineStripper drops line breaks, which base64 bodies carry every 76 characters.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\n' && c != '\r' {
			p[j] = c
			j++
		}
	}
	return j, err
}

// waitForMail waits for the count-th mail to address and returns the part of its body
// that pattern's first group matches.
func waitForMail(t *testing.T, address string, count int, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(10 * time.Second)
	for {
		bodies := mailsTo(address)
		if len(bodies) >= count {
			m := re.FindStringSubmatch(bodies[count-1])
			if m == nil {
				t.Fatalf("mail to %s does not match %s:\n%s", address, pattern, bodies[count-1])
			}
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %d to %s in the server log", count, address)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestVerificationEmail(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	a := newAccount(t, users)

	if _, err := users.SendVerificationEmail(ctx, &user.SendVerificationEmailRequest{
		Email: a.Email, Subject: "Verify your address", FromName: "Go SDK",
		TextContent: "Open this link:\n$micro_verification_link\n", RedirectUrl: "https://example.com/welcome",
	}); err != nil {
		t.Fatal(err)
	}
	token := waitForMail(t, a.Email, 1, `[?&]token=([A-Za-z0-9_-]+)`)

	if _, err := users.VerifyEmail(ctx, &user.VerifyEmailRequest{Token: token}); err != nil {
		t.Fatal(err)
	}
	read, err := users.Read(ctx, &user.ReadRequest{Id: a.Id})
	if err != nil {
		t.Fatal(err)
	}
	if !read.Account.Verified || read.Account.VerificationDate < a.Created {
		t.Errorf("after VerifyEmail: %+v", read.Account)
	}

	_, err = users.VerifyEmail(ctx, &user.VerifyEmailRequest{Token: token})
	if e := apiError(t, err); e.ID != "user.verifyemail" || e.Code != 400 {
		t.Errorf("a used token: %+v", e)
	}
	_, err = users.SendVerificationEmail(ctx, &user.SendVerificationEmailRequest{
		Email: a.Email, Subject: "no link", TextContent: "nothing to click",
	})
	if e := apiError(t, err); e.ID != "user.sendverificationemail" || e.Code != 400 {
		t.Errorf("text without the link: %+v", e)
	}
}

func TestPasswordReset(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	a := newAccount(t, users)
	login, err := users.Login(ctx, &user.LoginRequest{Username: a.Username, Password: password})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := users.SendPasswordResetEmail(ctx, &user.SendPasswordResetEmailRequest{
		Email: a.Email, Subject: "Your code", TextContent: "Your code: $code\n", Expiration: 600,
	}); err != nil {
		t.Fatal(err)
	}
	code := waitForMail(t, a.Email, 1, `Your code: (\S+)`)

	_, err = users.ResetPassword(ctx, &user.ResetPasswordRequest{
		Email: a.Email, Code: code, NewPassword: "reset horse 1", ConfirmPassword: "another horse",
	})
	if e := apiError(t, err); e.ID != "user.resetpassword" || e.Code != 400 {
		t.Errorf("mismatched passwords: %+v", e)
	}
	if _, err := users.ResetPassword(ctx, &user.ResetPasswordRequest{
		Email: a.Email, Code: code, NewPassword: "reset horse 1", ConfirmPassword: "reset horse 1",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Login(ctx, &user.LoginRequest{Email: a.Email, Password: "reset horse 1"}); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	_, err = users.ReadSession(ctx, &user.ReadSessionRequest{SessionId: login.Session.Id})
	if e := apiError(t, err); e.Code != 401 {
		t.Errorf("the session from before the reset: %+v", e)
	}

	_, err = users.SendPasswordResetEmail(ctx, &user.SendPasswordResetEmailRequest{
		Email: a.Email, Subject: "Your code", TextContent: "Your code: $code\n", Expiration: 5,
	})
	if e := apiError(t, err); e.ID != "user.sendpasswordresetemail" || e.Code != 400 {
		t.Errorf("an expiration under a minute: %+v", e)
	}
}

func TestMagicLink(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	a := newAccount(t, users)

	if _, err := users.SendMagicLink(ctx, &user.SendMagicLinkRequest{
		Email: a.Email, Subject: "Log in", TextContent: "Log in:\n$micro_verification_link\n",
		Address: "example.com", Endpoint: "login",
	}); err != nil {
		t.Fatal(err)
	}
	token := waitForMail(t, a.Email, 1, `https://example\.com/login/([A-Za-z0-9_-]+)`)

	rsp, err := users.VerifyToken(ctx, &user.VerifyTokenRequest{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if !rsp.IsValid || rsp.Session == nil || rsp.Session.UserId != a.Id || rsp.Session.Id == "" {
		t.Fatalf("VerifyToken: %+v", rsp)
	}
	if _, err := users.ReadSession(ctx, &user.ReadSessionRequest{SessionId: rsp.Session.Id}); err != nil {
		t.Errorf("the magic-link session: %v", err)
	}

	// A used, an unknown and an empty token are answers, not errors.
	for _, token := range []string{token, "no-such-token", ""} {
		rsp, err := users.VerifyToken(ctx, &user.VerifyTokenRequest{Token: token})
		if err != nil {
			t.Fatalf("VerifyToken(%q): %v", token, err)
		}
		if rsp.IsValid || rsp.Session != nil || rsp.Message == "" {
			t.Errorf("VerifyToken(%q) = %+v", token, rsp)
		}
	}

	// An unknown address is answered as a known one, and no mail goes out.
	nobody := unique("nobody") + "@example.com"
	if _, err := users.SendMagicLink(ctx, &user.SendMagicLinkRequest{
		Email: nobody, Subject: "Log in", TextContent: "$micro_verification_link", Address: "example.com", Endpoint: "login",
	}); err != nil {
		t.Errorf("SendMagicLink to an unknown address: %v", err)
	}
	if bodies := mailsTo(nobody); len(bodies) != 0 {
		t.Errorf("mail went to an unknown address: %v", bodies)
	}
}
