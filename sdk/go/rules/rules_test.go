package rules_test

// Rule evaluation: the shared cases of sdk/conformance/rules.json (run as the Python
// SDK runs them, in both rule orders), a randomized cross-check of the index against
// the definition read literally, and resource parsing.

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/micro-user/micro-user/sdk/go/rules"
)

// casesFile is relative to this package's directory (sdk/go/rules).
var casesFile = filepath.Join("..", "..", "conformance", "rules.json")

type sharedCase struct {
	Name  string `json:"name"`
	Rules []struct {
		Scope    string `json:"scope"`
		Resource string `json:"resource"`
		Access   string `json:"access"`
		Priority *int64 `json:"priority"`
	} `json:"rules"`
	Subject *struct {
		Namespace string   `json:"namespace"`
		Scopes    []string `json:"scopes"`
	} `json:"subject"`
	Resource string `json:"resource"`
	Allowed  *bool  `json:"allowed"`
}

func loadCases(t *testing.T) []sharedCase {
	t.Helper()
	data, err := os.ReadFile(casesFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []sharedCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) == 0 {
		t.Fatalf("%s has no cases", casesFile)
	}
	return file.Cases
}

func mustParse(t *testing.T, text string) rules.Resource {
	t.Helper()
	r, err := rules.ParseResource(text)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSharedCases(t *testing.T) {
	for _, c := range loadCases(t) {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			if c.Allowed == nil {
				t.Fatal("the case has no 'allowed'")
			}
			var list []rules.Rule
			for i, r := range c.Rules {
				access := rules.Granted
				if r.Access != "" {
					access = rules.Access(r.Access)
				}
				if access != rules.Granted && access != rules.Denied {
					t.Fatalf("rule %d: access %q", i, r.Access)
				}
				rule := rules.Rule{Id: fmt.Sprintf("r%d", i), Scope: r.Scope, Resource: mustParse(t, r.Resource), Access: access}
				if r.Priority != nil {
					rule.Priority = *r.Priority
				}
				list = append(list, rule)
			}
			var subject *rules.Subject
			if c.Subject != nil {
				subject = &rules.Subject{Namespace: c.Subject.Namespace, Scopes: c.Subject.Scopes}
			}
			resource := mustParse(t, c.Resource)
			// The outcome may not depend on the order the rules come in.
			reversed := make([]rules.Rule, len(list))
			for i, r := range list {
				reversed[len(list)-1-i] = r
			}
			for _, ordering := range [][]rules.Rule{list, reversed} {
				if got := rules.Evaluate(ordering, "micro", subject, resource); got != *c.Allowed {
					t.Errorf("allowed = %v, want %v (rules %+v)", got, *c.Allowed, ordering)
				}
			}
		})
	}
}

// naive is the definition, read literally: filter, sort, first that applies.
func naive(list []rules.Rule, namespace string, subject *rules.Subject, resource rules.Resource) bool {
	// Service resources compare their name and endpoint with ASCII letters in one case.
	fold := func(s string) string { return s }
	if resource.Type == "service" {
		fold = func(s string) string {
			return strings.Map(func(r rune) rune {
				if 'A' <= r && r <= 'Z' {
					return r + 'a' - 'A'
				}
				return r
			}, s)
		}
	}
	matches := func(rule rules.Rule) bool {
		r := rule.Resource
		endpoint, ruleEndpoint := fold(resource.Endpoint), fold(r.Endpoint)
		endpointOK := r.Endpoint == "*" || ruleEndpoint == endpoint ||
			(strings.HasSuffix(r.Endpoint, "/*") && strings.HasPrefix(endpoint, ruleEndpoint[:len(ruleEndpoint)-1]))
		return (r.Type == "*" || r.Type == resource.Type) && (r.Name == "*" || fold(r.Name) == fold(resource.Name)) && endpointOK
	}
	var kept []rules.Rule
	for _, r := range list {
		if matches(r) {
			kept = append(kept, r)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		if (a.Access == rules.Denied) != (b.Access == rules.Denied) {
			return a.Access == rules.Denied
		}
		return a.Id < b.Id
	})
	for _, r := range kept {
		if rules.ScopeApplies(r.Scope, subject, namespace) {
			return r.Access == rules.Granted
		}
	}
	return false
}

func TestIndexAgreesWithTheDefinitionOnRandomRules(t *testing.T) {
	gen := rand.New(rand.NewSource(7))
	pick := func(options []string) string { return options[gen.Intn(len(options))] }
	types, names := []string{"service", "api", "*"}, []string{"user", "orders", "*", "Orders", "ÉLAN", "élan"}
	endpoints := []string{"User.Read", "User.Create", "*", "/v1/a/*", "/v1/a/b/*", "/v1/a/b/c", "/*", "/v1/*", "user.READ", "/V1/A/*", "/v1/A/b/C",
		"user." + strings.Repeat("longname", 10)}
	scopes := []string{"", "*", "+", "admin", "reader"}
	accesses := []rules.Access{rules.Granted, rules.Denied}
	resourceEndpoints := []string{"User.Read", "User.Create", "/v1/a/b/c", "/v1/a/x", "/v1/a/", "/v1/a", "/", "*", "USER.read", "/V1/a/B/c",
		"User." + strings.Repeat("LongName", 10)} // longer than the evaluation's buffer
	for trial := 0; trial < 2000; trial++ {
		var list []rules.Rule
		for i, n := 0, gen.Intn(13); i < n; i++ {
			list = append(list, rules.Rule{
				Id:       fmt.Sprintf("r%d", gen.Intn(20)), // ids may repeat: the order must still agree
				Scope:    pick(scopes),
				Resource: rules.Resource{Type: pick(types), Name: pick(names), Endpoint: pick(endpoints)},
				Access:   accesses[gen.Intn(2)],
				Priority: int64(gen.Intn(5) - 2),
			})
		}
		set := rules.NewRuleSet("micro", list)
		for k := 0; k < 10; k++ {
			var subject *rules.Subject
			switch gen.Intn(4) {
			case 1:
				subject = &rules.Subject{Namespace: "micro", Scopes: []string{pick(scopes)}}
			case 2:
				subject = &rules.Subject{Namespace: "other", Scopes: []string{"admin"}}
			case 3:
				subject = &rules.Subject{Namespace: "micro"}
			}
			resource := rules.Resource{Type: pick(types[:2]), Name: pick([]string{"user", "orders", "ORDERS", "Élan", "élan"}), Endpoint: pick(resourceEndpoints)}
			got, want := set.Allows(subject, resource), naive(list, "micro", subject, resource)
			if got != want {
				t.Fatalf("trial %d: allows = %v, the definition says %v\nrules %+v\nsubject %+v\nresource %v",
					trial, got, want, list, subject, resource)
			}
			if rule, ok := set.Decide(subject, resource); ok != hasApplicable(list, subject, resource) || (ok && (rule.Access == rules.Granted) != got) {
				t.Fatalf("trial %d: Decide = %+v, %v; Allows = %v", trial, rule, ok, got)
			}
		}
	}
}

// hasApplicable says whether any rule matches the resource and applies to the subject.
func hasApplicable(list []rules.Rule, subject *rules.Subject, resource rules.Resource) bool {
	for _, r := range list {
		probe := r
		probe.Access = rules.Granted
		if naive([]rules.Rule{probe}, "micro", subject, resource) {
			return true
		}
	}
	return false
}

func TestBuiltinRules(t *testing.T) {
	set := rules.NewRuleSet("micro", append(rules.BuiltinRules(),
		rules.Rule{Id: "deny-all", Scope: "", Resource: rules.Resource{"*", "*", "*"}, Access: rules.Denied, Priority: 1 << 30},
	))
	admin := &rules.Subject{Namespace: "micro", Scopes: []string{"admin"}}
	account := &rules.Subject{Namespace: "micro"}
	token := rules.Resource{"service", "auth", "Auth.Token"}
	inspect := rules.Resource{"service", "auth", "Auth.Inspect"}
	for _, c := range []struct {
		subject  *rules.Subject
		resource rules.Resource
		want     bool
	}{
		{admin, rules.Resource{"service", "user", "User.Delete"}, true}, // admin outranks any rule
		{&rules.Subject{Namespace: "other", Scopes: []string{"admin"}}, token, false},
		{nil, token, false}, // a rule of priority 0 or more overrides the built-in ones
		{account, inspect, false},
	} {
		if got := set.Allows(c.subject, c.resource); got != c.want {
			t.Errorf("%+v on %v: %v, want %v", c.subject, c.resource, got, c.want)
		}
	}
	plain := rules.NewRuleSet("micro", rules.BuiltinRules())
	if !plain.Allows(nil, token) || plain.Allows(nil, inspect) || !plain.Allows(account, inspect) {
		t.Error("the built-in rules: anyone may ask for a token, any account may inspect one")
	}
	// Each call is a new slice.
	rules.BuiltinRules()[0].Scope = "changed"
	if rules.BuiltinRules()[0].Scope != "admin" {
		t.Error("BuiltinRules shares its slice")
	}
}

func TestAccessIsNormalized(t *testing.T) {
	read := rules.Resource{"service", "user", "User.Read"}
	for access, want := range map[rules.Access]bool{"": true, "GRANTED": true, "granted": true, "DENIED": false, "denied": false, "MAYBE": false} {
		set := rules.NewRuleSet("micro", []rules.Rule{{Id: "r", Scope: "", Resource: read, Access: access}})
		if got := set.Allows(nil, read); got != want {
			t.Errorf("access %q: allowed %v, want %v", access, got, want)
		}
	}
	// An unknown access sorts as a denial: it wins over a grant of equal priority.
	set := rules.NewRuleSet("micro", []rules.Rule{
		{Id: "a", Scope: "", Resource: read, Access: rules.Granted},
		{Id: "b", Scope: "", Resource: read, Access: "MAYBE"},
	})
	if rule, ok := set.Decide(nil, read); !ok || rule.Id != "b" || rule.Access != rules.Denied {
		t.Errorf("decided by %+v", rule)
	}
}

func TestDecideOrder(t *testing.T) {
	read := rules.Resource{"service", "user", "User.Read"}
	set := rules.NewRuleSet("micro", []rules.Rule{
		{Id: "b", Scope: "*", Resource: rules.Resource{"service", "user", "*"}, Access: rules.Granted, Priority: 5},
		{Id: "a", Scope: "*", Resource: read, Access: rules.Granted, Priority: 5},
		{Id: "c", Scope: "+", Resource: rules.Resource{"*", "*", "*"}, Access: rules.Granted, Priority: 5},
	})
	if rule, ok := set.Decide(&rules.Subject{Namespace: "micro"}, read); !ok || rule.Id != "a" {
		t.Errorf("equal grants: decided by %+v, want the lowest id", rule)
	}
	if rule, ok := set.Decide(&rules.Subject{Namespace: "other"}, read); !ok || rule.Id != "c" {
		t.Errorf("another namespace: decided by %+v", rule)
	}
	if _, ok := set.Decide(nil, read); ok {
		t.Error("no account: some rule decided")
	}
	if got := set.Namespace(); got != "micro" {
		t.Errorf("namespace %q", got)
	}
	if got := set.Rules(); len(got) != 3 || got[0].Id != "b" {
		t.Errorf("rules %+v", got)
	}
}

func TestResourceParsing(t *testing.T) {
	for text, want := range map[string]rules.Resource{
		"service:user:User.Create": {"service", "user", "User.Create"},
		"api:shop:/v1/a:b":         {"api", "shop", "/v1/a:b"},
		"*:*:*":                    {"*", "*", "*"},
	} {
		got, err := rules.ParseResource(text)
		if err != nil || got != want {
			t.Errorf("ParseResource(%q) = %+v, %v", text, got, err)
		}
		if got.String() != text {
			t.Errorf("String() = %q, want %q", got.String(), text)
		}
	}
	for _, bad := range []string{"service:user", "", "::", "service::x", ":user:x", "service:user:"} {
		if _, err := rules.ParseResource(bad); err == nil || !strings.Contains(err.Error(), "type:name:endpoint") {
			t.Errorf("ParseResource(%q): error %v", bad, err)
		}
	}
}

func TestRuleJSON(t *testing.T) {
	// The wire message of Rules.List: priority is a number.
	var r rules.Rule
	if err := json.Unmarshal([]byte(`{"id":"r1","scope":"reader","resource":{"type":"service","name":"orders","endpoint":"Orders.List"},"access":"DENIED","priority":7}`), &r); err != nil {
		t.Fatal(err)
	}
	want := rules.Rule{Id: "r1", Scope: "reader", Resource: rules.Resource{"service", "orders", "Orders.List"}, Access: rules.Denied, Priority: 7}
	if r != want {
		t.Errorf("decoded %+v", r)
	}
	data, _ := json.Marshal(want)
	if string(data) != `{"id":"r1","scope":"reader","resource":{"type":"service","name":"orders","endpoint":"Orders.List"},"access":"DENIED","priority":7}` {
		t.Errorf("encoded %s", data)
	}
}

// An evaluation looks only at the rules that can match: many rules for other resources
// cost nothing.
func BenchmarkAllows(b *testing.B) {
	for _, n := range []int{10, 100000} {
		list := []rules.Rule{{Id: "read", Scope: "reader", Resource: rules.Resource{"service", "orders", "Orders.Read"}}}
		for i := 0; i < n; i++ {
			list = append(list, rules.Rule{
				Id: fmt.Sprintf("r%d", i), Scope: "*", Priority: int64(i % 7),
				Resource: rules.Resource{"service", fmt.Sprintf("svc%d", i%1000), fmt.Sprintf("/v1/x%d/*", i)},
			})
		}
		set := rules.NewRuleSet("micro", append(rules.BuiltinRules(), list...))
		subject := &rules.Subject{Namespace: "micro", Scopes: []string{"reader"}}
		resource := rules.Resource{"service", "orders", "Orders.Read"}
		b.Run(fmt.Sprintf("%d rules", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if !set.Allows(subject, resource) {
					b.Fatal("denied")
				}
			}
		})
	}
}
