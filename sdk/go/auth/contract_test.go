package auth_test

// The SDK against micro-user's OpenAPI document (fetched from the live server): every
// method of UserService and AuthService sends only fields the document describes for its
// endpoint, and every required one; and every field its answer type reads is one the
// document says the answer has (encoding/json would leave a misnamed field empty).

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/auth"
	"github.com/micro-user/micro-user/sdk/go/user"
)

type schema = map[string]any

type contract struct {
	doc     schema
	schemas schema
}

func loadContract(t *testing.T) *contract {
	t.Helper()
	rsp, err := http.Get(server.Address + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	var doc schema
	if err := json.NewDecoder(rsp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return &contract{doc: doc, schemas: doc["components"].(schema)["schemas"].(schema)}
}

func (c *contract) resolve(s schema) schema {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = c.schemas[ref[strings.LastIndex(ref, "/")+1:]].(schema)
	}
}

// sample is a value the schema allows, every described field filled in.
func (c *contract) sample(s schema) any {
	s = c.resolve(s)
	switch s["type"] {
	case "object":
		out := map[string]any{}
		properties, _ := s["properties"].(schema)
		for name, field := range properties {
			out[name] = c.sample(field.(schema))
		}
		return out
	case "array":
		items, _ := s["items"].(schema)
		return []any{c.sample(items)}
	case "string":
		if s["pattern"] == "^-?[0-9]+$" {
			return "1"
		}
		return "GRANTED"
	case "integer":
		return 1
	case "boolean":
		return true
	}
	return nil
}

// undescribed lists the fields of a sent JSON value the schema does not describe.
func (c *contract) undescribed(sent any, s schema, where string) []string {
	s = c.resolve(s)
	object, isObject := sent.(map[string]any)
	properties, described := s["properties"].(schema)
	if !isObject || !described { // a value, or a map whose keys are the caller's
		return nil
	}
	var found []string
	for name, value := range object {
		field, ok := properties[name].(schema)
		if !ok {
			found = append(found, where+"."+name)
			continue
		}
		found = append(found, c.undescribed(value, field, where+"."+name)...)
	}
	return found
}

// unread lists the json fields of type t (recursively) that the schema does not describe.
func (c *contract) unread(t reflect.Type, s schema, where string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
		if items, ok := c.resolve(s)["items"].(schema); ok {
			s = items
		}
	}
	s = c.resolve(s)
	properties, described := s["properties"].(schema)
	if t.Kind() != reflect.Struct || !described {
		return nil
	}
	var found []string
	for i := 0; i < t.NumField(); i++ {
		name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		field, ok := properties[name].(schema)
		if !ok {
			found = append(found, where+"."+name)
			continue
		}
		found = append(found, c.unread(t.Field(i).Type, field, where+"."+name)...)
	}
	return found
}

// filled is a request with every field set, so that every field a method can send is sent.
func filled(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Map:
		v.Set(reflect.MakeMap(t))
		v.SetMapIndex(filled(t.Key()), filled(t.Elem()))
	case reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), filled(t.Elem())))
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				v.Field(i).Set(filled(t.Field(i).Type))
			}
		}
	case reflect.Pointer:
		inner := reflect.New(t.Elem())
		inner.Elem().Set(filled(t.Elem()))
		v.Set(inner)
	}
	return v
}

// recorder answers every request with a sample of its documented answer, and keeps the
// last request's path and body.
type recorder struct {
	c    *contract
	path string
	body map[string]any
	op   schema
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.path = req.URL.Path
	r.body = nil
	if req.Body != nil {
		raw, _ := io.ReadAll(req.Body)
		_ = json.Unmarshal(raw, &r.body)
	}
	item, _ := r.c.doc["paths"].(schema)[r.path].(schema)
	r.op, _ = item["post"].(schema)
	answer := []byte("{}")
	if r.op != nil {
		s := r.op["responses"].(schema)["200"].(schema)["content"].(schema)["application/json"].(schema)["schema"].(schema)
		answer, _ = json.Marshal(r.c.sample(s))
	}
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(answer)),
		Request:    req,
	}, nil
}

func TestTheSDKSpeaksTheDocumentedContract(t *testing.T) {
	c := loadContract(t)
	rec := &recorder{c: c}
	client := microuser.NewClient(
		microuser.WithAddress("http://sdk.invalid"),
		microuser.WithToken("k"),
		microuser.WithHTTPClient(&http.Client{Transport: rec}),
	)
	covered := map[string]bool{}
	for _, service := range []any{user.NewUserService(client), auth.NewAuthService(client)} {
		value := reflect.ValueOf(service)
		for i := 0; i < value.NumMethod(); i++ {
			method := value.Type().Method(i)
			t.Run(method.Name, func(t *testing.T) {
				fn := value.Method(i)
				out := fn.Call([]reflect.Value{
					reflect.ValueOf(testContext(t)), filled(fn.Type().In(1).Elem()).Addr(),
				})
				if err, _ := out[1].Interface().(error); err != nil {
					t.Fatalf("%s: %v", method.Name, err)
				}
				if rec.op == nil {
					t.Fatalf("%s sent to %s, which is not in the document", method.Name, rec.path)
				}
				covered[rec.path] = true
				request := rec.op["requestBody"].(schema)["content"].(schema)["application/json"].(schema)["schema"].(schema)
				if extra := c.undescribed(rec.body, request, "body"); len(extra) > 0 {
					t.Errorf("%s sends fields the document does not describe: %v", method.Name, extra)
				}
				required, _ := c.resolve(request)["required"].([]any)
				for _, name := range required {
					if _, ok := rec.body[name.(string)]; !ok {
						t.Errorf("%s leaves out the required field %v", method.Name, name)
					}
				}
				answer := rec.op["responses"].(schema)["200"].(schema)["content"].(schema)["application/json"].(schema)["schema"].(schema)
				if extra := c.unread(fn.Type().Out(0), answer, "answer"); len(extra) > 0 {
					t.Errorf("%s reads fields the answer does not have: %v", method.Name, extra)
				}
			})
		}
	}
	var missing []string
	for path := range c.doc["paths"].(schema) {
		if (strings.HasPrefix(path, "/v1/user/") || strings.HasPrefix(path, "/v1/auth/")) && !covered[path] {
			missing = append(missing, path)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("endpoints without a method: %v", missing)
	}
}
