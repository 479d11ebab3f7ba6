package user_test

// The shared SDK conformance scenario (sdk/conformance/user.json), run through this SDK
// against the live server. The same file is run by the other SDKs' tests; its README
// describes the format, which this runner follows: ${run} and saved variables, dotted
// paths with list indexes and "length", the matchers $nonempty, $gt and $ne, error id and
// code, and save. Each step is a subtest named after it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/user"
)

// scenarioFile is relative to this package's directory (sdk/go/user).
var scenarioFile = filepath.Join("..", "..", "conformance", "user.json")

type scenarioStep struct {
	Name   string            `json:"name"`
	Call   string            `json:"call"`
	Args   map[string]any    `json:"args"`
	Expect map[string]any    `json:"expect"`
	Error  map[string]any    `json:"error"`
	Save   map[string]string `json:"save"`
}

// scenarioArgs holds every argument a step may give, by its snake-case name.
type scenarioArgs struct {
	Id              string            `json:"id"`
	Username        string            `json:"username"`
	Email           string            `json:"email"`
	Password        string            `json:"password"`
	Profile         map[string]string `json:"profile"`
	Offset          uint32            `json:"offset"`
	Limit           uint32            `json:"limit"`
	UserId          string            `json:"user_id"`
	OldPassword     string            `json:"old_password"`
	NewPassword     string            `json:"new_password"`
	ConfirmPassword string            `json:"confirm_password"`
	SessionId       string            `json:"session_id"`
}

// view is a result as the scenario sees it: JSON with snake-case names and integer times.
type view = map[string]any

// scenarioCall maps one SDK-neutral call name to this SDK's method.
type scenarioCall struct {
	args []string // the argument names the call takes
	run  func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error)
}

var scenarioCalls = map[string]scenarioCall{
	"create": {[]string{"id", "username", "email", "password", "profile"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			rsp, err := users.Create(ctx, &user.CreateRequest{Id: a.Id, Username: a.Username, Email: a.Email, Password: a.Password, Profile: a.Profile})
			if err != nil {
				return nil, err
			}
			return view{"account": accountView(rsp.Account)}, nil
		}},
	"read": {[]string{"id", "username", "email"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			rsp, err := users.Read(ctx, &user.ReadRequest{Id: a.Id, Username: a.Username, Email: a.Email})
			if err != nil {
				return nil, err
			}
			return view{"account": accountView(rsp.Account)}, nil
		}},
	"update": {[]string{"id", "username", "email", "profile"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			_, err := users.Update(ctx, &user.UpdateRequest{Id: a.Id, Username: a.Username, Email: a.Email, Profile: a.Profile})
			return view{}, err
		}},
	"delete": {[]string{"id"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			_, err := users.Delete(ctx, &user.DeleteRequest{Id: a.Id})
			return view{}, err
		}},
	"list": {[]string{"offset", "limit"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			rsp, err := users.List(ctx, &user.ListRequest{Offset: a.Offset, Limit: a.Limit})
			if err != nil {
				return nil, err
			}
			list := []any{}
			for _, account := range rsp.Users {
				list = append(list, accountView(account))
			}
			return view{"users": list}, nil
		}},
	"update_password": {[]string{"user_id", "old_password", "new_password", "confirm_password"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			_, err := users.UpdatePassword(ctx, &user.UpdatePasswordRequest{
				UserId: a.UserId, OldPassword: a.OldPassword, NewPassword: a.NewPassword, ConfirmPassword: a.ConfirmPassword,
			})
			return view{}, err
		}},
	"login": {[]string{"username", "email", "password"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			rsp, err := users.Login(ctx, &user.LoginRequest{Username: a.Username, Email: a.Email, Password: a.Password})
			if err != nil {
				return nil, err
			}
			return view{"session": sessionView(rsp.Session)}, nil
		}},
	"logout": {[]string{"session_id"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			_, err := users.Logout(ctx, &user.LogoutRequest{SessionId: a.SessionId})
			return view{}, err
		}},
	"logout_all": {[]string{"user_id"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			_, err := users.LogoutAll(ctx, &user.LogoutAllRequest{UserId: a.UserId})
			return view{}, err
		}},
	"read_session": {[]string{"session_id"},
		func(ctx context.Context, users *user.UserService, a scenarioArgs) (view, error) {
			rsp, err := users.ReadSession(ctx, &user.ReadSessionRequest{SessionId: a.SessionId})
			if err != nil {
				return nil, err
			}
			return view{"session": sessionView(rsp.Session), "account": accountView(rsp.Account)}, nil
		}},
}

func accountView(a *user.Account) view {
	profile := map[string]any{}
	for k, v := range a.Profile {
		profile[k] = v
	}
	return view{
		"id": a.Id, "username": a.Username, "email": a.Email,
		"created": a.Created, "updated": a.Updated,
		"verified": a.Verified, "verification_date": a.VerificationDate,
		"profile": profile,
	}
}

func sessionView(s *user.Session) view {
	return view{"id": s.Id, "user_id": s.UserId, "created": s.Created, "expires": s.Expires}
}

// asJSON turns a value into what decoding its JSON gives (numbers as json.Number), so
// that results and expectations are compared alike.
func asJSON(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeJSON(data)
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

var variableRef = regexp.MustCompile(`\$\{(\w+)\}`)

// substitute replaces ${name} in every string of v by the variable's value.
func substitute(v any, vars map[string]any) (any, error) {
	switch v := v.(type) {
	case string:
		var missing []string
		out := variableRef.ReplaceAllStringFunc(v, func(ref string) string {
			name := variableRef.FindStringSubmatch(ref)[1]
			value, ok := vars[name]
			if !ok {
				missing = append(missing, name)
				return ref
			}
			if s, ok := value.(string); ok {
				return s
			}
			data, _ := json.Marshal(value)
			return string(data)
		})
		if len(missing) > 0 {
			return nil, fmt.Errorf("no variable %s (was the step that saves it run?)", strings.Join(missing, ", "))
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			s, err := substitute(item, vars)
			if err != nil {
				return nil, err
			}
			out[k] = s
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			s, err := substitute(item, vars)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	default:
		return v, nil
	}
}

// lookup follows a dotted path: keys of objects, indexes of lists, "length" of a list.
func lookup(doc any, path string) (any, error) {
	for _, part := range strings.Split(path, ".") {
		switch d := doc.(type) {
		case map[string]any:
			value, ok := d[part]
			if !ok {
				return nil, fmt.Errorf("path %q: no key %q", path, part)
			}
			doc = value
		case []any:
			if part == "length" {
				doc = json.Number(strconv.Itoa(len(d)))
				continue
			}
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(d) {
				return nil, fmt.Errorf("path %q: %q is not an index of a list of %d", path, part, len(d))
			}
			doc = d[i]
		default:
			return nil, fmt.Errorf("path %q: %q is inside %v, which is neither object nor list", path, part, d)
		}
	}
	return doc, nil
}

func number(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	return new(big.Rat).SetString(n.String())
}

// equal compares two decoded JSON values, numbers by value.
func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x.Cmp(y) == 0
	}
	return reflect.DeepEqual(a, b)
}

// matches applies an expected value: a matcher ({"$nonempty": true}, {"$gt": n},
// {"$ne": v}) or a value to be equal to.
func matches(actual, expected any) (bool, error) {
	m, ok := expected.(map[string]any)
	if !ok || len(m) != 1 {
		return equal(actual, expected), nil
	}
	for op, operand := range m {
		switch op {
		case "$nonempty":
			want, ok := operand.(bool)
			if !ok {
				return false, fmt.Errorf("$nonempty takes true or false, not %v", operand)
			}
			s, isString := actual.(string)
			return isString && (s != "") == want, nil
		case "$gt":
			limit, ok := number(operand)
			if !ok {
				return false, fmt.Errorf("$gt takes a number, not %v", operand)
			}
			n, isNumber := number(actual)
			return isNumber && n.Cmp(limit) > 0, nil
		case "$ne":
			return !equal(actual, operand), nil
		default:
			if strings.HasPrefix(op, "$") {
				return false, fmt.Errorf("unknown matcher %s", op)
			}
		}
	}
	return equal(actual, expected), nil
}

// show is a value as JSON, for messages.
func show(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(data)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func loadScenario(t *testing.T) []scenarioStep {
	t.Helper()
	data, err := os.ReadFile(scenarioFile)
	if err != nil {
		t.Fatalf("the conformance scenario: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var scenario struct {
		Steps []scenarioStep `json:"steps"`
	}
	if err := dec.Decode(&scenario); err != nil {
		t.Fatalf("%s: %v", scenarioFile, err)
	}
	if len(scenario.Steps) == 0 {
		t.Fatalf("%s has no steps", scenarioFile)
	}
	return scenario.Steps
}

func TestConformance(t *testing.T) {
	users := newUsers()
	vars := map[string]any{"run": unique("go")}
	seenNames := map[string]bool{}
	for _, step := range loadScenario(t) {
		step := step
		if seenNames[step.Name] {
			t.Errorf("two steps are named %q", step.Name)
		}
		seenNames[step.Name] = true
		t.Run(step.Name, func(t *testing.T) {
			runStep(t, users, step, vars)
		})
	}
}

func runStep(t *testing.T, users *user.UserService, step scenarioStep, vars map[string]any) {
	call, ok := scenarioCalls[step.Call]
	if !ok {
		t.Fatalf("unknown call %q", step.Call)
	}
	if step.Expect != nil && step.Error != nil {
		t.Fatalf("the step has both expect and error")
	}

	// Arguments: substituted, only those the call takes, of the right types.
	rawArgs, err := substitute(map[string]any(step.Args), vars)
	if err != nil {
		t.Fatalf("args: %v", err)
	}
	for _, name := range sortedKeys(step.Args) {
		known := false
		for _, a := range call.args {
			known = known || a == name
		}
		if !known {
			t.Fatalf("%s takes no argument %q (it takes %s)", step.Call, name, strings.Join(call.args, ", "))
		}
	}
	var args scenarioArgs
	data, _ := json.Marshal(rawArgs)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&args); err != nil {
		t.Fatalf("args %s: %v", data, err)
	}

	result, callErr := call.run(testContext(t), users, args)

	if step.Error != nil {
		want, err := substitute(map[string]any(step.Error), vars)
		if err != nil {
			t.Fatalf("error: %v", err)
		}
		wantID, _ := want.(map[string]any)["id"].(string)
		wantCode, _ := want.(map[string]any)["code"].(json.Number)
		if callErr == nil {
			t.Fatalf("%s succeeded with %s, want error id %q code %s", step.Call, show(result), wantID, wantCode)
		}
		var apiErr *microuser.Error
		if !errors.As(callErr, &apiErr) {
			t.Fatalf("%s failed with %v (%T), want a *microuser.Error", step.Call, callErr, callErr)
		}
		if apiErr.ID != wantID || strconv.Itoa(apiErr.Code) != wantCode.String() {
			t.Fatalf("error id %q code %d (%v), want id %q code %s", apiErr.ID, apiErr.Code, apiErr, wantID, wantCode)
		}
		return
	}
	if callErr != nil {
		t.Fatalf("%s failed: %v", step.Call, callErr)
	}

	doc, err := asJSON(result)
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	expect, err := substitute(map[string]any(step.Expect), vars)
	if err != nil {
		t.Fatalf("expect: %v", err)
	}
	for _, path := range sortedKeys(step.Expect) {
		expected := expect.(map[string]any)[path]
		actual, err := lookup(doc, path)
		if err != nil {
			t.Errorf("%v in %s", err, show(doc))
			continue
		}
		ok, err := matches(actual, expected)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		} else if !ok {
			t.Errorf("%s is %s, want %s", path, show(actual), show(expected))
		}
	}
	for _, name := range sortedKeys(step.Save) {
		value, err := lookup(doc, step.Save[name])
		if err != nil {
			t.Errorf("save %s: %v", name, err)
			continue
		}
		vars[name] = value
	}
}
