package conformance

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// promOptions says how to start a real Prometheus from the harness (for tests that stop and
// restart it, or serve it over TLS with basic auth, which gregg-testenv does not offer).
type promOptions struct {
	// Targets scraped as job `node` every second.
	nodeTargets []string
	// Contents of --web.config.file (TLS, basic auth); empty for plain HTTP.
	webConfig string
	// For the readiness probe of a TLS/basic-auth Prometheus.
	caPEM              []byte
	basicUser, basicPW string
	// For the readiness probe of a Prometheus that requires client certificates.
	clientCert *tls.Certificate
}

// promServer is a Prometheus process on a fixed loopback port with its own data directory, so
// it can be stopped and started again on the same address and data.
type promServer struct {
	t    testing.TB
	opts promOptions
	addr string
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd
	log *syncBuffer
}

func startPrometheus(t testing.TB, opts promOptions) *promServer {
	t.Helper()
	if _, err := exec.LookPath("prometheus"); err != nil {
		t.Fatalf("prometheus is not installed (go run mage.go deps): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	p := &promServer{t: t, opts: opts, addr: addr, dir: t.TempDir()}
	var targets strings.Builder
	for _, target := range opts.nodeTargets {
		fmt.Fprintf(&targets, "          - '%s'\n", target)
	}
	config := "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
	if len(opts.nodeTargets) > 0 {
		config += "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets:\n" + targets.String()
	}
	p.write("prometheus.yml", config)
	if opts.webConfig != "" {
		p.write("web.yml", opts.webConfig)
	}
	t.Cleanup(p.stop)
	p.start()
	return p
}

func (p *promServer) write(name, content string) {
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// URL is the base URL (https when a web config sets up TLS).
func (p *promServer) URL() string {
	if strings.Contains(p.opts.webConfig, "tls_server_config") {
		return "https://" + p.addr
	}
	return "http://" + p.addr
}

// start (again) on the same address and data directory; waits until /-/ready answers 200.
func (p *promServer) start() {
	p.t.Helper()
	args := []string{
		"--config.file=" + filepath.Join(p.dir, "prometheus.yml"),
		"--web.listen-address=" + p.addr,
		"--storage.tsdb.path=" + filepath.Join(p.dir, "data"),
		"--log.level=warn",
	}
	if p.opts.webConfig != "" {
		args = append(args, "--web.config.file="+filepath.Join(p.dir, "web.yml"))
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		log := &syncBuffer{}
		cmd := exec.Command("prometheus", args...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			p.t.Fatalf("prometheus: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		p.mu.Lock()
		p.cmd, p.log = cmd, log
		p.mu.Unlock()
		if lastErr = p.waitReady(exited); lastErr == nil {
			return
		}
		p.stop()
		// The port of a stopped Prometheus may be in TIME_WAIT for a moment: retry.
		if !strings.Contains(log.String(), "address already in use") {
			break
		}
		time.Sleep(time.Second)
	}
	p.t.Fatalf("prometheus did not become ready: %v\n%s", lastErr, p.log.String())
}

func (p *promServer) waitReady(exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	if len(p.opts.caPEM) > 0 {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(p.opts.caPEM)
		config := &tls.Config{RootCAs: pool}
		if p.opts.clientCert != nil {
			config.Certificates = []tls.Certificate{*p.opts.clientCert}
		}
		client.Transport = &http.Transport{TLSClientConfig: config}
	}
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("prometheus exited")
		default:
		}
		req, _ := http.NewRequest("GET", p.URL()+"/-/ready", nil)
		if p.opts.basicUser != "" {
			req.SetBasicAuth(p.opts.basicUser, p.opts.basicPW)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after 30 s: %v", last)
}

// stop terminates Prometheus (SIGTERM, then SIGKILL) and waits until it has exited.
func (p *promServer) stop() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := cmd.Process.Signal(syscallZero); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
}

// syscallZero probes whether a process still exists (signal 0).
var syscallZero = syscall.Signal(0)
