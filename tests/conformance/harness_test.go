// Package conformance launches the built plugin binary exactly as Grafana does (hashicorp/go-plugin,
// magic cookie, protocol version 2, gRPC only), calls it through grafana-plugin-sdk-go's grpcplugin
// clients and decodes every answer with backend.FromProto, Grafana's own decoder.
//
// Environment:
//
//	GREGG_PLUGIN_BINARY  the plugin executable (default ../../dist/datasource/gpx_gregg_insights_<os>_<arch>)
//	GREGG_TESTENV        the gregg-testenv binary that starts Prometheus and node_exporter
//	                     (default ../../target/release/gregg-testenv)
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

const pluginID = "gregg-insights-datasource"

// binary resolves a binary from an environment variable or its default path, failing with a hint.
func binary(t testing.TB, envVar, fallback, hint string) string {
	t.Helper()
	path := os.Getenv(envVar)
	if path == "" {
		path = fallback
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("%s: %v", envVar, err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("%s not found (%s): %v", abs, hint, err)
	}
	return abs
}

func pluginBinary(t testing.TB) string {
	return binary(t, "GREGG_PLUGIN_BINARY",
		filepath.Join("..", "..", "dist", "datasource", fmt.Sprintf("gpx_gregg_insights_%s_%s", runtime.GOOS, runtime.GOARCH)),
		"build it with `go run mage.go build`")
}

func testenvBinary(t testing.TB) string {
	return binary(t, "GREGG_TESTENV",
		filepath.Join("..", "..", "target", "release", "gregg-testenv"),
		"cargo build --release -p gregg-testkit")
}

// syncBuffer collects the plugin's logs as go-plugin relays them.
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

// plugin is a running plugin process with Grafana's clients.
type plugin struct {
	client      *goplugin.Client
	data        grpcplugin.DataClient
	diagnostics grpcplugin.DiagnosticsClient
	resource    grpcplugin.ResourceClient
	// conn is the gRPC connection itself, for calls the SDK's clients cannot make.
	conn *grpc.ClientConn
	logs *syncBuffer
}

// startPlugin launches the binary the way Grafana's pkg/plugins/backendplugin/grpcplugin does.
func startPlugin(t testing.TB) *plugin {
	t.Helper()
	return startPluginWith(t, pluginBinary(t), nil)
}

// startPluginWith launches `binary` with extra environment variables (log level, fault hooks).
func startPluginWith(t testing.TB, binary string, extraEnv []string) *plugin {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), extraEnv...)
	logs := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "plugin-host",
		Output:     logs,
		Level:      hclog.Trace,
		JSONFormat: true,
	})
	client := goplugin.NewClient(&goplugin.ClientConfig{
		Cmd: cmd,
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"data":        &grpcplugin.DataGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
				"stream":      &grpcplugin.StreamGRPCPlugin{},
			},
		},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           logger,
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("starting the plugin: %v\n%s", err, logs.String())
	}
	dispense := func(name string) any {
		raw, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispense %s: %v", name, err)
		}
		return raw
	}
	grpcClient, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		t.Fatalf("the plugin client is a %T, not go-plugin's gRPC client", rpc)
	}
	return &plugin{
		client:      client,
		conn:        grpcClient.Conn,
		data:        dispense("data").(grpcplugin.DataClient),
		diagnostics: dispense("diagnostics").(grpcplugin.DiagnosticsClient),
		resource:    dispense("resource").(grpcplugin.ResourceClient),
		logs:        logs,
	}
}

// env is a test environment started by gregg-testenv: a real Prometheus (and node_exporter).
type env struct {
	Prometheus   string    `json:"prometheus"`
	NodeExporter string    `json:"nodeExporter"`
	Scenario     *scenario `json:"scenario"`
	// `gregg-testenv fleet N`: the fleet's evaluation time and size.
	FleetAt    int64 `json:"at"`
	FleetHosts int   `json:"hosts"`
}

type scenario struct {
	Name   string        `json:"name"`
	At     int64         `json:"at"`
	Hosts  []host        `json:"hosts"`
	Expect []expectation `json:"expect"`
}

// host is a scenario host's ground truth.
type host struct {
	Instance string `json:"instance"`
	CPUs     int    `json:"cpus"`
	// UtilizationPercent is the generator's mean CPU utilization over the window: idle,
	// iowait and steal are not busy.
	UtilizationPercent float64 `json:"utilization_percent"`
}

// expectation is an insight the scenario must produce, with its severity range.
type expectation struct {
	Instance string `json:"instance"`
	Check    string `json:"check"`
	Min      string `json:"min"`
	Max      string `json:"max"`
}

// startEnv runs `gregg-testenv args...` and stops it (by closing its stdin) at cleanup.
func startEnv(t testing.TB, args ...string) env {
	t.Helper()
	cmd := exec.Command(testenvBinary(t), args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("gregg-testenv: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		var e env
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("gregg-testenv said %q (%v); stderr:\n%s", line, err, stderr.String())
		}
		return e
	case <-time.After(120 * time.Second):
		t.Fatalf("gregg-testenv did not start; stderr:\n%s", stderr.String())
	}
	return env{}
}

// settings builds the instance settings Grafana would send for a provisioned data source.
func settings(url string, jsonData map[string]any, secure map[string]string) *backend.DataSourceInstanceSettings {
	raw, _ := json.Marshal(jsonData)
	return &backend.DataSourceInstanceSettings{
		ID:                      1,
		UID:                     fmt.Sprintf("gregg-%d", time.Now().UnixNano()),
		Type:                    pluginID,
		Name:                    "Gregg Insights",
		URL:                     url,
		JSONData:                raw,
		DecryptedSecureJSONData: secure,
		Updated:                 time.Now(),
	}
}

func pluginContext(ds *backend.DataSourceInstanceSettings) backend.PluginContext {
	return backend.PluginContext{OrgID: 1, PluginID: pluginID, DataSourceInstanceSettings: ds}
}

// query builds one data query evaluated over the 6 hours before `to`.
func query(refID, queryType string, to time.Time, model map[string]any) backend.DataQuery {
	if model == nil {
		model = map[string]any{}
	}
	model["refId"] = refID
	if queryType != "" {
		model["queryType"] = queryType
	}
	raw, _ := json.Marshal(model)
	return backend.DataQuery{
		RefID:         refID,
		QueryType:     queryType,
		JSON:          raw,
		MaxDataPoints: 1000,
		Interval:      15 * time.Second,
		TimeRange:     backend.TimeRange{From: to.Add(-6 * time.Hour), To: to},
	}
}

// queryRaw sends a request in protobuf form (to send what ToProto would refuse to build) and
// decodes the answer with Grafana's decoder.
func (p *plugin) queryRaw(t testing.TB, req *pluginv2.QueryDataRequest) *backend.QueryDataResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := p.data.QueryData(ctx, req)
	if err != nil {
		t.Fatalf("QueryData failed as a whole: %v", err)
	}
	decoded, err := backend.FromProto().QueryDataResponse(resp)
	if err != nil {
		t.Fatalf("Grafana's decoder rejected the response: %v", err)
	}
	return decoded
}

func (p *plugin) query(t testing.TB, ds *backend.DataSourceInstanceSettings, queries ...backend.DataQuery) *backend.QueryDataResponse {
	t.Helper()
	req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
		PluginContext: pluginContext(ds),
		Queries:       queries,
	})
	return p.queryRaw(t, req)
}

func (p *plugin) checkHealth(t testing.TB, ds *backend.DataSourceInstanceSettings) *backend.CheckHealthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := p.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{
		PluginContext: backend.ToProto().PluginContext(pluginContext(ds)),
	})
	if err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	return backend.FromProto().CheckHealthResponse(resp)
}

// callResource performs one resource call and gathers the streamed answer.
func (p *plugin) callResource(t testing.TB, ds *backend.DataSourceInstanceSettings, method, path string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{
		PluginContext: pluginContext(ds),
		Path:          path,
		Method:        method,
		URL:           path,
	})
	stream, err := p.resource.CallResource(ctx, req)
	if err != nil {
		t.Fatalf("CallResource %s %s: %v", method, path, err)
	}
	status := 0
	var body []byte
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("CallResource %s %s stream: %v", method, path, err)
		}
		if status == 0 {
			status = int(msg.Code)
		}
		body = append(body, msg.Body...)
	}
	return status, body
}

// assertNoSecret fails if any secret appears in text.
func assertNoSecret(t testing.TB, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("secret %q leaked into %s:\n%s", s, where, text)
		}
	}
}

// askInstances sends one `instances` query (the cheapest one that reaches Prometheus) through ds.
func (p *plugin) askInstances(t testing.TB, ds *backend.DataSourceInstanceSettings) backend.DataResponse {
	t.Helper()
	return p.query(t, ds, query("A", "instances", time.Now(), nil)).Responses["A"]
}

// waitForOneInstance asks for `instances` through ds until one row comes back, failing after
// 30 s with what as the reason (a Prometheus just started may not have scraped yet).
func (p *plugin) waitForOneInstance(t testing.TB, ds *backend.DataSourceInstanceSettings, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := p.askInstances(t, ds)
		if r.Error == nil && len(r.Frames) == 1 && r.Frames[0].Rows() == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no data %s within 30 s: %v", what, r.Error)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
