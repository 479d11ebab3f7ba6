// Package testserver starts a live micro-user for the tests of the SDK's packages:
// `<python> -m micro_user serve` on a free port, on a fresh SQLite database in a
// temporary directory. <python> is $MICRO_USER_PYTHON, else the repository's
// .venv/bin/python (the nearest .venv above the package directory the tests run in).
// The tests of the auth, user and verify packages use it.
package testserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const readyTimeout = 60 * time.Second

// Server is a running micro-user.
type Server struct {
	// Address is its base address, http://127.0.0.1:<port>.
	Address string
	// AdminKey is its admin API key (namespace "micro").
	AdminKey string
	// DatabaseURL is the MICRO_USER_DATABASE_URL it runs on, for CLI commands.
	DatabaseURL string
	// Python is the interpreter that runs it.
	Python string

	log  *syncBuffer
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
}

// Main runs the tests of a package against a server it starts (in TestMain), and
// stops it afterwards; it prints the server's output when a test failed. *srv is set
// before the tests run.
func Main(m *testing.M, srv **Server, env ...string) int {
	s, err := Start(env...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "micro-user for the Go SDK tests: %v\n", err)
		if s != nil {
			s.Stop()
			fmt.Fprintf(os.Stderr, "--- server output ---\n%s", s.Log())
		}
		return 1
	}
	*srv = s
	code := m.Run()
	s.Stop()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- server output ---\n%s", s.Log())
	}
	return code
}

// python is the interpreter that runs micro-user.
func python() (string, error) {
	if p := os.Getenv("MICRO_USER_PYTHON"); p != "" {
		return p, nil
	}
	// The tests run in a package directory of sdk/go; the repository root is above sdk.
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidates := []string{filepath.Join(dir, ".venv", "bin", "python")}
		if runtime.GOOS == "windows" {
			candidates = append(candidates, filepath.Join(dir, ".venv", "Scripts", "python.exe"))
		}
		for _, p := range candidates {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no .venv/bin/python above the tests: set MICRO_USER_PYTHON, or make the venv (./scripts/test)")
		}
		dir = parent
	}
}

// RandomHex is n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a server, with the extra MICRO_USER_* settings in env ("NAME=value"),
// and waits until it is ready.
func Start(env ...string) (*Server, error) {
	py, err := python()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "micro-user-go-sdk-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Address:     fmt.Sprintf("http://127.0.0.1:%d", port),
		AdminKey:    "muk_gotest_" + RandomHex(16),
		DatabaseURL: "sqlite:///" + filepath.ToSlash(filepath.Join(dir, "go.db")),
		Python:      py,
		log:         &syncBuffer{},
		dir:         dir,
		done:        make(chan struct{}),
	}
	cmd := exec.Command(py, "-m", "micro_user", "serve", "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	cmd.Dir = dir
	cmd.Env = append(s.environment(),
		"MICRO_USER_ADMIN_KEY="+s.AdminKey,
		"MICRO_USER_LOG_LEVEL=warning",
		// The tests read the console mail sender's mails from the log, as plain text.
		"MICRO_USER_LOG_FORMAT=text",
		// Every test request comes from 127.0.0.1: lift the abuse limits (the server's own tests check them).
		"MICRO_USER_LOGIN_PER_ADDRESS_PER_MINUTE=100000",
		"MICRO_USER_LOGIN_PER_ACCOUNT_PER_MINUTE=100000",
		"MICRO_USER_LOCKOUT_THRESHOLD=100000",
		"MICRO_USER_MAIL_PER_ADDRESS_PER_MINUTE=100000",
		"MICRO_USER_MAIL_PER_RECIPIENT_PER_HOUR=100000",
		"MICRO_USER_CODE_CHECKS_PER_ADDRESS_PER_MINUTE=100000",
		"MICRO_USER_BEARER_FAILURES_PER_ADDRESS_PER_MINUTE=100000",
		"MICRO_USER_MAIL_SENDER=console",
		// An error id or status missing from micro_user/errors.py's catalogue is a 500.
		"MICRO_USER_STRICT_ERRORS=true",
		"MICRO_USER_PUBLIC_URL="+s.Address,
		"MICRO_USER_LINK_HOSTS=127.0.0.1,example.com,app.example.com",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", py, err)
	}
	s.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	return s, s.waitReady()
}

// environment is this process's environment without its MICRO_USER_* settings (a
// config file, a database must not leak in), with the server's database.
func (s *Server) environment() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MICRO_USER_") {
			env = append(env, kv)
		}
	}
	return append(env, "MICRO_USER_DATABASE_URL="+s.DatabaseURL, "XDG_DATA_HOME="+s.dir)
}

// CLI runs `<python> -m micro_user <args>` on the server's database, with the extra
// settings in env, and returns what it printed.
func (s *Server) CLI(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.Python, append([]string{"-m", "micro_user"}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = append(s.environment(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("micro-user %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// waitReady waits until GET /ready answers 200.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("the server exited before it was ready (%v)", s.cmd.ProcessState)
		default:
		}
		rsp, err := hc.Get(s.Address + "/ready")
		if err == nil {
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s/ready did not answer 200 within %v", s.Address, readyTimeout)
}

// Stop ends the server (politely, then not), and removes its directory.
func (s *Server) Stop() {
	if s.cmd != nil {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			_ = s.cmd.Process.Kill()
		}
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

// Log is what the server wrote to its stdout and stderr.
func (s *Server) Log() string { return s.log.String() }

// syncBuffer is a bytes.Buffer that the server's output can be written to while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
