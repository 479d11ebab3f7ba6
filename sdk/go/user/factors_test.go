package user_test

// Two-step sign-in against the live server, with a TOTP computed here (RFC 6238 from
// the standard library) as the authenticator app.

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/micro-user/micro-user/sdk/go/user"
)

// totp is the six-digit code of a base32 key, skew seconds from now.
func totp(t *testing.T, secret string, skew time.Duration) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(secret, "="))
	if err != nil {
		t.Fatal(err)
	}
	counter := make([]byte, 8)
	binary.BigEndian.PutUint64(counter, uint64(time.Now().Add(skew).Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(counter)
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0xf
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", value%1000000)
}

func TestTwoStepSignIn(t *testing.T) {
	users, ctx := newUsers(), testContext(t)
	a := newAccount(t, users)
	started, err := users.StartTotp(ctx, &user.StartTotpRequest{UserId: a.Id})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(started.Uri, "otpauth://totp/") || !strings.Contains(started.Uri, started.Secret) {
		t.Errorf("start %+v", started)
	}
	confirmed, err := users.ConfirmTotp(ctx, &user.FactorCodeRequest{UserId: a.Id, Code: totp(t, started.Secret, 0)})
	if err != nil {
		t.Fatal(err)
	}
	codes := confirmed.RecoveryCodes
	if len(codes) != 10 {
		t.Fatalf("recovery codes %v", codes)
	}
	_, err = users.Login(ctx, &user.LoginRequest{Username: a.Username, Password: password})
	if e := apiError(t, err); e.Code != 401 || e.ID != "user.login.second_factor" {
		t.Errorf("login without the factor: %v", e)
	}
	login, err := users.Login(ctx, &user.LoginRequest{Username: a.Username, Password: password, FactorCode: codes[0]})
	if err != nil || login.Session.UserId != a.Id {
		t.Fatalf("login with a recovery code: %+v %v", login, err)
	}
	renewed, err := users.RegenerateRecoveryCodes(ctx, &user.FactorCodeRequest{UserId: a.Id, Code: codes[1]})
	if err != nil || len(renewed.RecoveryCodes) != 10 || renewed.RecoveryCodes[0] == codes[0] {
		t.Fatalf("renewed %+v %v", renewed, err)
	}
	_, err = users.RemoveFactors(ctx, &user.FactorCodeRequest{UserId: a.Id, Code: codes[2]})
	if e := apiError(t, err); e.Code != 401 || e.ID != "user.removefactors" {
		t.Errorf("a voided recovery code: %v", e)
	}
	if _, err := users.RemoveFactors(ctx, &user.FactorCodeRequest{UserId: a.Id, Code: totp(t, started.Secret, 30*time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Login(ctx, &user.LoginRequest{Username: a.Username, Password: password}); err != nil {
		t.Fatal(err)
	}
}
