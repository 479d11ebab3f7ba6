package user_test

// TestMain runs every test of this package against a live micro-user: it starts
// `<python> -m micro_user serve` on a free port, on a fresh SQLite database in a
// temporary directory, and stops it afterwards. <python> is $MICRO_USER_PYTHON, else
// the repository's .venv/bin/python (../../.venv/bin/python from sdk/go).

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

	microuser "github.com/micro-user/micro-user/sdk/go"
	"github.com/micro-user/micro-user/sdk/go/user"
)

// The live server, set by TestMain.
var (
	serverAddress string      // base address, http://127.0.0.1:<port>
	adminKey      string      // its admin API key
	serverLog     *syncBuffer // what it wrote to stdout and stderr (mails included)
)

const readyTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	os.Exit(runWithServer(m))
}

func runWithServer(m *testing.M) int {
	srv, err := startServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "micro-user for the Go SDK tests: %v\n", err)
		if srv != nil {
			srv.stop()
			fmt.Fprintf(os.Stderr, "--- server output ---\n%s", serverLog.String())
		}
		return 1
	}
	code := m.Run()
	srv.stop()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- server output ---\n%s", serverLog.String())
	}
	return code
}

// server is a running micro-user process.
type server struct {
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
}

// python is the interpreter that runs micro-user.
func python() (string, error) {
	if p := os.Getenv("MICRO_USER_PYTHON"); p != "" {
		return p, nil
	}
	// The tests of this package run in sdk/go/user; the repository root is three up.
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		return "", err
	}
	candidates := []string{filepath.Join(root, ".venv", "bin", "python")}
	if runtime.GOOS == "windows" {
		candidates = append(candidates, filepath.Join(root, ".venv", "Scripts", "python.exe"))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Python at %s: set MICRO_USER_PYTHON, or make the venv (./scripts/test)", candidates[0])
}

func randomHex(n int) string {
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

func startServer() (*server, error) {
	serverLog = &syncBuffer{}
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
	serverAddress = fmt.Sprintf("http://127.0.0.1:%d", port)
	adminKey = "muk_gotest_" + randomHex(16)

	cmd := exec.Command(py, "-m", "micro_user", "serve", "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	cmd.Dir = dir
	// The caller's MICRO_USER_* settings (a config file, a database) must not leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MICRO_USER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"MICRO_USER_DATABASE_URL=sqlite:///"+filepath.ToSlash(filepath.Join(dir, "go.db")),
		"MICRO_USER_ADMIN_KEY="+adminKey,
		"MICRO_USER_LOG_LEVEL=warning",
		// The tests read the console mail sender's mails from the log, as plain text.
		"MICRO_USER_LOG_FORMAT=text",
		// Every test request comes from 127.0.0.1: lift the abuse limits (the server's own tests check them).
		"MICRO_USER_LOGIN_PER_ADDRESS_PER_MINUTE=100000",
		"MICRO_USER_LOCKOUT_THRESHOLD=100000",
		"MICRO_USER_MAIL_PER_ADDRESS_PER_MINUTE=100000",
		"MICRO_USER_MAIL_PER_RECIPIENT_PER_HOUR=100000",
		"MICRO_USER_CODE_CHECKS_PER_ADDRESS_PER_MINUTE=100000",
		"MICRO_USER_MAIL_SENDER=console", // mails go to the log, where the tests read them
		"MICRO_USER_PUBLIC_URL="+serverAddress,
		"XDG_DATA_HOME="+dir,
	)
	cmd.Stdout = serverLog
	cmd.Stderr = serverLog
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", py, err)
	}
	srv := &server{cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(srv.done)
	}()
	return srv, srv.waitReady()
}

// waitReady waits until GET /ready answers 200.
func (s *server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("the server exited before it was ready (%v)", s.cmd.ProcessState)
		default:
		}
		rsp, err := hc.Get(serverAddress + "/ready")
		if err == nil {
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s/ready did not answer 200 within %v", serverAddress, readyTimeout)
}

// stop ends the server (politely, then not), and removes its directory.
func (s *server) stop() {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = s.cmd.Process.Kill()
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

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

// newUsers is a user service client of the live server, with the admin key.
func newUsers(opts ...microuser.Option) *user.UserService {
	opts = append([]microuser.Option{microuser.WithAddress(serverAddress), microuser.WithToken(adminKey)}, opts...)
	return user.NewUserService(microuser.NewClient(opts...))
}

// unique is a lower-case name that no other test or run uses.
func unique(prefix string) string {
	return prefix + randomHex(5)
}

// testContext is a context that ends with the test (or after a minute).
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
