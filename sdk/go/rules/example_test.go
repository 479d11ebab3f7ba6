package rules_test

import (
	"fmt"

	"github.com/micro-user/micro-user/sdk/go/rules"
)

// Decide as the server does: the namespace's rules plus the built-in ones.
func ExampleRuleSet_Allows() {
	set := rules.NewRuleSet("micro", append(rules.BuiltinRules(),
		rules.Rule{Id: "read", Scope: "reader", Resource: rules.Resource{Type: "api", Name: "orders", Endpoint: "/orders/*"}, Access: rules.Granted},
		rules.Rule{Id: "no-exports", Scope: "*", Resource: rules.Resource{Type: "api", Name: "orders", Endpoint: "/orders/export"}, Access: rules.Denied, Priority: 10},
	))
	reader := &rules.Subject{Namespace: "micro", Scopes: []string{"reader"}}
	admin := &rules.Subject{Namespace: "micro", Scopes: []string{"admin"}}
	for _, text := range []string{"api:orders:/orders/42", "api:orders:/orders/export", "service:auth:Auth.Token"} {
		resource, _ := rules.ParseResource(text)
		fmt.Printf("%-26s nobody %-5v reader %-5v admin %v\n", resource, set.Allows(nil, resource), set.Allows(reader, resource), set.Allows(admin, resource))
	}
	// Output:
	// api:orders:/orders/42      nobody false reader true  admin true
	// api:orders:/orders/export  nobody false reader false admin true
	// service:auth:Auth.Token    nobody true  reader true  admin true
}
