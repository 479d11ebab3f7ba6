package rules_test

// The request paths of sdk/conformance/paths.json: every case's canonical path (or its
// refusal) and the resource the rules see it as.

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/micro-user/micro-user/sdk/go/rules"
)

type pathCase struct {
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Path     *string `json:"path"`
	Resource *string `json:"resource"`
}

func loadPathCases(t *testing.T) []pathCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "conformance", "paths.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []pathCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 50 {
		t.Fatalf("paths.json has %d cases", len(file.Cases))
	}
	return file.Cases
}

func TestSharedPathCases(t *testing.T) {
	for _, c := range loadPathCases(t) {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			path, err := rules.CanonicalPath(c.Target)
			if c.Path == nil {
				if err == nil || !errors.Is(err, rules.ErrAmbiguousPath) {
					t.Fatalf("CanonicalPath(%q) = %q, %v; want it refused", c.Target, path, err)
				}
				if c.Resource != nil {
					t.Fatal("a refused path with a resource")
				}
				return
			}
			if err != nil || path != *c.Path {
				t.Fatalf("CanonicalPath(%q) = %q, %v; want %q", c.Target, path, err, *c.Path)
			}
			resource, err := rules.PathResource(path, "app.example")
			if c.Resource == nil {
				if !errors.Is(err, rules.ErrAmbiguousPath) {
					t.Fatalf("PathResource(%q) = %v, %v; want it refused", path, resource, err)
				}
				return
			}
			if err != nil || resource.String() != *c.Resource {
				t.Fatalf("PathResource(%q) = %v, %v; want %s", path, resource, err, *c.Resource)
			}
		})
	}
}

func TestCanonicalPathErrorsSayWhy(t *testing.T) {
	for target, reason := range map[string]string{
		"/a/..%2fb":      "an encoded '/'",
		"http://x/admin": "starting with '/'",
		"/a;b":           "';'",
		"/a/%zz":         "two hex digits",
	} {
		_, err := rules.CanonicalPath(target)
		if err == nil || !errors.Is(err, rules.ErrAmbiguousPath) || !strings.Contains(err.Error(), reason) {
			t.Errorf("CanonicalPath(%q): %v, want an error saying %q", target, err, reason)
		}
	}
}
