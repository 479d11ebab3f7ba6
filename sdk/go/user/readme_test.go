package user_test

// The Go programs of sdk/go/README.md, each placed in a fresh module that depends on the
// SDK by a local replace directive, built and run with `go run` against the live server.
// What a program prints must show every line of the ```text block after it ("..."
// stands for anything).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/micro-user/micro-user/sdk/go/auth"
	"github.com/micro-user/micro-user/sdk/go/user"
)

const sdkModule = "github.com/micro-user/micro-user/sdk/go"

// readmeProgram is a `package main` block of the README and the output shown after it.
type readmeProgram struct {
	source string
	output string
}

var fence = regexp.MustCompile("(?ms)^```(\\w*)\n(.*?)^```\n")

func readmePrograms(t *testing.T) []readmeProgram {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var programs []readmeProgram
	blocks := fence.FindAllStringSubmatch(string(data), -1)
	for i, b := range blocks {
		if b[1] != "go" || !strings.HasPrefix(b[2], "package main\n") {
			continue
		}
		p := readmeProgram{source: b[2]}
		if i+1 < len(blocks) && blocks[i+1][1] == "text" {
			p.output = blocks[i+1][2]
		}
		programs = append(programs, p)
	}
	if len(programs) == 0 {
		t.Fatal("the README has no Go program")
	}
	return programs
}

// goCommand is the go command running these tests (go test puts its GOROOT/bin first on PATH).
func goCommand(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := runtime.GOROOT(); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	t.Fatal("no go command on PATH")
	return ""
}

// goDirective is the go line of the SDK's go.mod, reused by the fresh modules.
func goDirective(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go \S+$`).Find(data)
	if m == nil {
		t.Fatal("no go directive in the SDK's go.mod")
	}
	return string(m)
}

func TestREADMEPrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs with the go command")
	}
	sdkDir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	goCmd, directive := goCommand(t), goDirective(t)

	// The programs create the account ken; remove one left by an earlier run (-count=2).
	users := newUsers()
	if rsp, err := users.Read(testContext(t), &user.ReadRequest{Email: "ken@example.com"}); err == nil {
		if _, err := users.Delete(testContext(t), &user.DeleteRequest{Id: rsp.Account.Id}); err != nil {
			t.Fatal(err)
		}
	}
	// And the service accounts, rule and role of the auth programs.
	authService := auth.NewAuthService(adminClient())
	for _, id := range []string{"billing", "reporting"} {
		_, _ = authService.DeleteAccount(testContext(t), &auth.DeleteAccountRequest{Id: id})
	}
	_, _ = authService.DeleteRule(testContext(t), &auth.DeleteRuleRequest{Id: "orders-read"})
	_, _ = authService.DeleteRole(testContext(t), &auth.DeleteRoleRequest{Name: "orders-reader"})
	for i, program := range readmePrograms(t) {
		program := program
		name := fmt.Sprintf("program %d", i+1)
		if !t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			goMod := "module example.com/app\n\n" + directive + "\n\n" +
				"require " + sdkModule + " v0.0.0\n\n" +
				"replace " + sdkModule + " => " + sdkDir + "\n"
			// The README's programs call the address ./scripts/start serves; these call the test server.
			source := strings.ReplaceAll(program.source, `"http://localhost:8080"`, `"`+server.Address+`"`)
			for file, content := range map[string]string{"go.mod": goMod, "main.go": source} {
				if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goCmd, "run", ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(),
				"MICRO_USER_ADDRESS="+server.Address,
				"MICRO_USER_KEY="+server.AdminKey,
				"GOFLAGS=-mod=mod",
				"GOPROXY=off",
				"GOTOOLCHAIN=local",
				"GOWORK=off",
			)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("go run: %v\n%s", err, out.String())
			}
			if strings.TrimSpace(program.output) == "" {
				t.Fatalf("the program has no ```text block after it; it printed:\n%s", out.String())
			}
			for _, line := range strings.Split(strings.TrimSpace(program.output), "\n") {
				pattern := strings.ReplaceAll(regexp.QuoteMeta(line), `\.\.\.`, `.+`)
				if !regexp.MustCompile(`(?m)` + pattern).MatchString(out.String()) {
					t.Errorf("the output has no line like %q:\n%s", line, out.String())
				}
			}
		}) {
			break // later programs may depend on what this one did
		}
	}
}
