// Package rules is micro-user's access rule evaluation: the one evaluation that the
// server, its SDKs and its gateway endpoint share, so that a service deciding locally
// decides as micro-user would.
//
// A [Rule] grants or denies one scope access to resources. For an account and a
// [Resource]: keep the rules whose type, name and endpoint each equal the resource's or
// are "*" (an endpoint ending in "/*" matches by prefix: "/v1/orders/*" matches
// "/v1/orders/42" but neither "/v1/orders" nor "/v1/ordersx"; the name and endpoint of
// a "service" resource compare with ASCII letters case-insensitive, so a denial of
// Orders.Delete also denies Orders.DELETE, while api paths compare exactly); order them
// by priority, highest first; the first rule whose scope applies to the account decides. Scope ""
// applies to everyone, even without an account; "*" to any account of the rules'
// namespace; "+" to an account of any namespace; any other scope to the namespace's
// accounts holding it (a role). When no rule applies, access is denied. Between rules of
// equal priority a denial wins, then the lower id, so the outcome never depends on the
// order rules were made in.
//
// The server adds [BuiltinRules] to every namespace's own rules; evaluate with them to
// decide as it does:
//
//	set := rules.NewRuleSet("micro", append(rules.BuiltinRules(), fetched...))
//	if set.Allows(&rules.Subject{Namespace: "micro", Scopes: []string{"reader"}}, resource) { ... }
//
// A [RuleSet] indexes its rules by type, name and endpoint once (folding the case of
// service names and endpoints there), so an evaluation looks only at the few rules that
// can match: its cost does not grow with the number of rules.
//
// [CanonicalPath] is the one canonical form of a request target, and [PathResource] the
// resource a canonical path is judged as; they follow sdk/conformance/paths.json, as the
// server's gateway endpoint and every SDK's middleware do.
// The package mirrors microuser.rules of the Python SDK, and runs the shared cases of
// sdk/conformance/rules.json in its tests.
package rules

import (
	"fmt"
	"strings"
)

const (
	// Wildcard as a type, name or endpoint matches anything; as a scope, any account of
	// the rules' namespace.
	Wildcard = "*"
	// PrefixSuffix ends an endpoint that matches by prefix ("/v1/orders/*").
	PrefixSuffix = "/*"
	// AnyAccount is the scope of any account, of any namespace.
	AnyAccount = "+"
	// Everyone is the scope that applies to every caller, even one without an account.
	Everyone = ""
	// AdminScope is the role that may do everything in its namespace (API keys hold it).
	AdminScope = "admin"
	// MaxPriority is the priority of the built-in admin rule; no rule can outrank it.
	MaxPriority = 1<<31 - 1
)

// Access is what a rule decides: [Granted] or [Denied].
type Access string

const (
	// Granted lets the request through.
	Granted Access = "GRANTED"
	// Denied refuses it.
	Denied Access = "DENIED"
)

// normalize reads a as the server does when a rule is created: case-insensitive, and
// empty meaning GRANTED. Anything else is taken as a denial, so that a rule of unknown
// meaning never opens access.
func (a Access) normalize() Access {
	switch {
	case a == "" || strings.EqualFold(string(a), string(Granted)):
		return Granted
	default:
		return Denied
	}
}

// Resource is what is being accessed, such as {service, user, User.Create}; written
// "type:name:endpoint" on the command line. Its JSON is the wire message's.
type Resource struct {
	// Type is the kind of resource: "service" for Micro services, "api" for plain paths.
	Type string `json:"type"`
	// Name is the service or API name ("user", "orders").
	Name string `json:"name"`
	// Endpoint is the endpoint ("User.Create") or path ("/v1/orders/42").
	Endpoint string `json:"endpoint"`
}

// ParseResource reads the command-line form "type:name:endpoint". The endpoint may
// contain colons ("api:shop:/v1/a:b"); no part may be empty.
func ParseResource(text string) (Resource, error) {
	parts := strings.SplitN(text, ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Resource{}, fmt.Errorf("a resource is written type:name:endpoint, got %q", text)
	}
	return Resource{Type: parts[0], Name: parts[1], Endpoint: parts[2]}, nil
}

// String is the command-line form "type:name:endpoint".
func (r Resource) String() string {
	return r.Type + ":" + r.Name + ":" + r.Endpoint
}

// Rule grants or denies a scope access to the resources that its Resource matches. Its
// JSON is the wire message of the auth service's Rules endpoints.
type Rule struct {
	// Id names the rule within its namespace.
	Id string `json:"id"`
	// Scope says who the rule is for: "" everyone, "*" any account of the namespace,
	// "+" any account at all, anything else the accounts holding that role.
	Scope string `json:"scope"`
	// Resource is what the rule is about; each part may be "*", and an endpoint may end
	// in "/*" to match by prefix.
	Resource Resource `json:"resource"`
	// Access is what the rule decides: Granted or Denied. Empty means Granted, as when
	// a rule is created; the case does not matter, and any other value denies.
	Access Access `json:"access"`
	// Priority orders the rules: the highest first. The server keeps them within 32
	// bits; MaxPriority is reserved for the built-in admin rule.
	Priority int64 `json:"priority"`
}

// Subject is who asks: an account's namespace (the issuer of its token) and the scopes
// (roles) it holds. A nil *Subject is a caller without an account.
type Subject struct {
	// Namespace is the account's namespace.
	Namespace string
	// Scopes are the roles the account holds.
	Scopes []string
}

func (s *Subject) holds(scope string) bool {
	for _, held := range s.Scopes {
		if held == scope {
			return true
		}
	}
	return false
}

// BuiltinRules returns the rules micro-user adds to every namespace's own: the admin
// scope may do everything in its namespace (at MaxPriority); anyone may call
// Auth.Token (the id and secret in the request are the credential); any account of the
// namespace may call Auth.Inspect. Evaluate with them to decide as the server does:
// NewRuleSet(namespace, append(BuiltinRules(), rules...)). Each call returns a new slice.
func BuiltinRules() []Rule {
	return []Rule{
		{Id: "builtin-admin", Scope: AdminScope, Resource: Resource{"*", "*", "*"}, Access: Granted, Priority: MaxPriority},
		{Id: "builtin-token", Scope: Everyone, Resource: Resource{"service", "auth", "Auth.Token"}, Access: Granted, Priority: 0},
		{Id: "builtin-inspect", Scope: Wildcard, Resource: Resource{"service", "auth", "Auth.Inspect"}, Access: Granted, Priority: 0},
	}
}

// ScopeApplies says whether a rule's scope applies to subject (nil: no account), for
// rules of namespace.
func ScopeApplies(scope string, subject *Subject, namespace string) bool {
	if scope == Everyone {
		return true
	}
	if subject == nil {
		return false
	}
	if scope == AnyAccount {
		return true
	}
	if subject.Namespace != namespace {
		return false
	}
	return scope == Wildcard || subject.holds(scope)
}

// entry is a rule with its access normalized, in the evaluation order.
type entry struct {
	rule   Rule
	denied bool
}

// before says whether a comes before b: highest priority first; at equal priority a
// denial first; then by id, for a stable order. (Go compares strings by their UTF-8
// bytes, which orders them by code point, as Python does.)
func (a *entry) before(b *entry) bool {
	if a.rule.Priority != b.rule.Priority {
		return a.rule.Priority > b.rule.Priority
	}
	if a.denied != b.denied {
		return a.denied
	}
	return a.rule.Id < b.rule.Id
}

// endpoints holds the rules of one (type, name) pair, by endpoint.
type endpoints struct {
	exact    map[string][]*entry
	prefixes map[string][]*entry // by the prefix, ending in "/"
	any      []*entry
}

// add indexes r under endpoint (its rule's, or that folded).
func (e *endpoints) add(endpoint string, r *entry) {
	switch {
	case endpoint == Wildcard:
		e.any = append(e.any, r)
	case strings.HasSuffix(endpoint, PrefixSuffix):
		if e.prefixes == nil {
			e.prefixes = make(map[string][]*entry)
		}
		prefix := endpoint[:len(endpoint)-len(Wildcard)]
		e.prefixes[prefix] = append(e.prefixes[prefix], r)
	default:
		if e.exact == nil {
			e.exact = make(map[string][]*entry)
		}
		e.exact[endpoint] = append(e.exact[endpoint], r)
	}
}

func sortEntries(list []*entry) {
	// Insertion sort: stable, and the lists are short.
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].before(list[j-1]); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

func (e *endpoints) sort() {
	for _, list := range e.exact {
		sortEntries(list)
	}
	for _, list := range e.prefixes {
		sortEntries(list)
	}
	sortEntries(e.any)
}

// candidates appends the lists of rules whose endpoint matches endpoint.
func (e *endpoints) candidates(endpoint string, into [][]*entry) [][]*entry {
	if len(e.any) > 0 {
		into = append(into, e.any)
	}
	if list := e.exact[endpoint]; len(list) > 0 {
		into = append(into, list)
	}
	if len(e.prefixes) > 0 {
		for cut := strings.IndexByte(endpoint, '/'); cut != -1; {
			if list := e.prefixes[endpoint[:cut+1]]; len(list) > 0 {
				into = append(into, list)
			}
			next := strings.IndexByte(endpoint[cut+1:], '/')
			if next == -1 {
				break
			}
			cut += 1 + next
		}
	}
	return into
}

// foldedCandidates is candidates for an endpoint already folded into bytes: the map
// lookups of string(folded) do not copy it.
func (e *endpoints) foldedCandidates(folded []byte, into [][]*entry) [][]*entry {
	if len(e.any) > 0 {
		into = append(into, e.any)
	}
	if list := e.exact[string(folded)]; len(list) > 0 {
		into = append(into, list)
	}
	if len(e.prefixes) > 0 {
		for i, c := range folded {
			if c == '/' {
				if list := e.prefixes[string(folded[:i+1])]; len(list) > 0 {
					into = append(into, list)
				}
			}
		}
	}
	return into
}

// ServiceType is the type of Micro service resources, whose name and endpoint rules
// compare case-insensitively (ASCII letters): a denial of Orders.Delete also denies
// Orders.DELETE. Other resources (api paths) compare exactly.
const ServiceType = "service"

// fold is how the names and endpoints of service resources are compared: ASCII letters
// lower-cased, anything else as it is.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return string(appendFold(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

type key struct{ typ, name string }

// RuleSet is the rules of one namespace, indexed for evaluation. It is immutable, and
// safe for concurrent use. Make one with [NewRuleSet].
type RuleSet struct {
	namespace string
	rules     []Rule
	index     map[key]*endpoints // rules of any type but "service", exactly
	folded    map[key]*endpoints // rules of type "service" or "*", name and endpoint folded
}

func addTo(index map[key]*endpoints, k key, endpoint string, r *entry) {
	e := index[k]
	if e == nil {
		e = &endpoints{}
		index[k] = e
	}
	e.add(endpoint, r)
}

// NewRuleSet indexes rules, the rules of namespace. Add [BuiltinRules] to decide as
// the server does. The rules are copied.
func NewRuleSet(namespace string, rules []Rule) *RuleSet {
	s := &RuleSet{
		namespace: namespace,
		rules:     append([]Rule(nil), rules...),
		index:     make(map[key]*endpoints),
		folded:    make(map[key]*endpoints),
	}
	entries := make([]entry, len(s.rules))
	for i, rule := range s.rules {
		rule.Access = rule.Access.normalize()
		entries[i] = entry{rule: rule, denied: rule.Access == Denied}
		r, typ := &entries[i], rule.Resource.Type
		if typ != ServiceType {
			addTo(s.index, key{typ, rule.Resource.Name}, rule.Resource.Endpoint, r)
		}
		if typ == ServiceType || typ == Wildcard {
			// Folded once here, so that an evaluation folds only the resource.
			addTo(s.folded, key{typ, fold(rule.Resource.Name)}, fold(rule.Resource.Endpoint), r)
		}
	}
	for _, e := range s.index {
		e.sort()
	}
	for _, e := range s.folded {
		e.sort()
	}
	return s
}

// Namespace is the namespace whose rules these are.
func (s *RuleSet) Namespace() string { return s.namespace }

// Rules returns a copy of the rules, in the order they were given.
func (s *RuleSet) Rules() []Rule { return append([]Rule(nil), s.rules...) }

// Decide returns the rule that decides for subject (nil: no account) and resource, and
// true; or false when no rule applies, which means denied. The rule's Access is
// normalized (Granted or Denied).
func (s *RuleSet) Decide(subject *Subject, resource Resource) (Rule, bool) {
	var buf [16][]*entry
	lists := buf[:0]
	if resource.Type == ServiceType {
		// The name and endpoint compare folded: fold the resource's (on the stack, for
		// the endpoints of usual length).
		var endpointBuf [64]byte
		endpoint := appendFold(endpointBuf[:0], resource.Endpoint)
		name := fold(resource.Name)
		for _, k := range [4]key{
			{ServiceType, name},
			{ServiceType, Wildcard},
			{Wildcard, name},
			{Wildcard, Wildcard},
		} {
			if e := s.folded[k]; e != nil {
				lists = e.foldedCandidates(endpoint, lists)
			}
		}
	} else {
		for _, k := range [4]key{
			{resource.Type, resource.Name},
			{resource.Type, Wildcard},
			{Wildcard, resource.Name},
			{Wildcard, Wildcard},
		} {
			if e := s.index[k]; e != nil {
				lists = e.candidates(resource.Endpoint, lists)
			}
		}
	}
	var best *entry
	for _, list := range lists {
		// Each list is sorted: its first applicable rule is its best one.
		for _, r := range list {
			if best != nil && !r.before(best) {
				break
			}
			if ScopeApplies(r.rule.Scope, subject, s.namespace) {
				best = r
				break
			}
		}
	}
	if best == nil {
		return Rule{}, false
	}
	return best.rule, true
}

// Allows says whether subject (nil: no account) may access resource.
func (s *RuleSet) Allows(subject *Subject, resource Resource) bool {
	rule, ok := s.Decide(subject, resource)
	return ok && rule.Access == Granted
}

// Evaluate is a one-off evaluation of rules (of namespace) for subject and resource;
// make a [RuleSet] once to evaluate many times.
func Evaluate(rules []Rule, namespace string, subject *Subject, resource Resource) bool {
	return NewRuleSet(namespace, rules).Allows(subject, resource)
}
