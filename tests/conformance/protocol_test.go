package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

var handshakeLine = regexp.MustCompile(`^1\|2\|tcp\|127\.0\.0\.1:\d+\|grpc\n$`)

// The handshake line must be the very first bytes on stdout, and logs must be hclog JSON on stderr.
func TestHandshakeIsFirstOnStdoutAndLogsAreHclogJSON(t *testing.T) {
	cmd := exec.Command(pluginBinary(t))
	cmd.Env = append(os.Environ(), grpcplugin.MagicCookieKey+"="+grpcplugin.MagicCookieValue, "PLUGIN_PROTOCOL_VERSIONS=2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if !handshakeLine.MatchString(line) {
			t.Fatalf("first stdout bytes %q are not the go-plugin handshake", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake within 10 s")
	}

	logLine := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stderr).ReadString('\n')
		logLine <- line
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case line := <-logLine:
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("stderr line %q is not JSON: %v", line, err)
		}
		for _, key := range []string{"@timestamp", "@level", "@message"} {
			if _, ok := entry[key]; !ok {
				t.Errorf("log line lacks hclog key %s: %s", key, line)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no log line within 10 s")
	}
}

// Grafana stops plugins with go-plugin's Kill: Shutdown through the controller, then 2 s, then
// SIGKILL. The plugin must be gone well within the 2 s, without the force-kill warning.
func TestKillIsGracefulAndFast(t *testing.T) {
	p := startPlugin(t)
	if _, err := p.diagnostics.CollectMetrics(context.Background(), &pluginv2.CollectMetricsRequest{
		PluginContext: &pluginv2.PluginContext{PluginId: pluginID},
	}); err != nil {
		t.Fatalf("CollectMetrics before kill: %v", err)
	}
	started := time.Now()
	p.client.Kill()
	elapsed := time.Since(started)
	if !p.client.Exited() {
		t.Fatal("plugin process still running after Kill")
	}
	if elapsed > 1900*time.Millisecond {
		t.Errorf("Kill took %v: the plugin did not exit on Shutdown", elapsed)
	}
	logs := p.logs.String()
	if strings.Contains(logs, "plugin failed to exit gracefully") {
		t.Errorf("go-plugin had to force-kill the plugin:\n%s", logs)
	}
	if !strings.Contains(logs, "Grafana asked the plugin to shut down.") {
		t.Errorf("the plugin did not log the Shutdown call:\n%s", logs)
	}
}

// CollectMetrics returns the plugin's own metrics in Prometheus text format.
func TestCollectMetricsExposesPluginAndProcessMetrics(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, nil, nil)
	p.query(t, ds, query("A", "use_summary", time.Unix(e.Scenario.At, 0), nil))
	resp, err := p.diagnostics.CollectMetrics(context.Background(), &pluginv2.CollectMetricsRequest{
		PluginContext: &pluginv2.PluginContext{PluginId: pluginID},
	})
	if err != nil {
		t.Fatal(err)
	}
	text := string(resp.Metrics.Prometheus)
	for _, want := range []string{
		`gregg_insights_queries_total{query_type="use_summary",status="ok"} 1`,
		`gregg_insights_prometheus_requests_total{endpoint="query",outcome="success"}`,
		`gregg_insights_datasource_instances 1`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
}

// The Data service is the plugin's own (it sends QueryData's frames without copying them):
// what tonic's generated server refused, it refuses the same way, and the connection goes on
// serving QueryData.
func TestQueryDataRefusesWhatTonicRefuses(t *testing.T) {
	p := startPlugin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &pluginv2.QueryDataRequest{PluginContext: &pluginv2.PluginContext{}}
	err := p.conn.Invoke(ctx, "/pluginv2.Data/QueryData", req, new(pluginv2.QueryDataResponse), grpc.UseCompressor(gzip.Name))
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("a gzip-compressed request: want UNIMPLEMENTED naming gzip, got %v", err)
	}
	err = p.conn.Invoke(ctx, "/pluginv2.Data/QueryDataStream", req, new(pluginv2.QueryDataResponse))
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("an unknown method: want UNIMPLEMENTED, got %v", err)
	}
	req.Queries = []*pluginv2.DataQuery{{RefId: "A", Json: []byte("{"), TimeRange: &pluginv2.TimeRange{FromEpochMS: 0, ToEpochMS: 1}}}
	resp := new(pluginv2.QueryDataResponse)
	if err := p.conn.Invoke(ctx, "/pluginv2.Data/QueryData", req, resp); err != nil {
		t.Fatalf("QueryData after the refusals: %v", err)
	}
	if a := resp.Responses["A"]; a == nil || a.Status != 400 || !strings.Contains(a.Error, "not valid JSON") {
		t.Errorf("a query that is not JSON: want its 400, got %+v", a)
	}
}

// Grafana sends big QueryData requests (a dashboard's many queries): the plugin takes up to
// 32 MiB, above gRPC's 4 MiB default, and refuses a bigger one as tonic does (OUT_OF_RANGE),
// answering the next call on the same connection.
func TestQueryDataTakesRequestsUpTo32MiB(t *testing.T) {
	p := startPlugin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	withJSON := func(size int) *pluginv2.QueryDataRequest {
		// Not JSON ("{" then spaces): a request that is read whole gets its 400.
		body := append([]byte("{"), bytes.Repeat([]byte(" "), size)...)
		return &pluginv2.QueryDataRequest{
			PluginContext: &pluginv2.PluginContext{},
			Queries:       []*pluginv2.DataQuery{{RefId: "A", Json: body, TimeRange: &pluginv2.TimeRange{FromEpochMS: 0, ToEpochMS: 1}}},
		}
	}
	for _, size := range []int{6 << 20, 31 << 20} {
		resp := new(pluginv2.QueryDataResponse)
		if err := p.conn.Invoke(ctx, "/pluginv2.Data/QueryData", withJSON(size), resp); err != nil {
			t.Fatalf("a %d MiB request: %v", size>>20, err)
		}
		if a := resp.Responses["A"]; a == nil || a.Status != 400 || !strings.Contains(a.Error, "not valid JSON") {
			t.Errorf("a %d MiB request: want its query's 400, got %+v", size>>20, a)
		}
	}
	err := p.conn.Invoke(ctx, "/pluginv2.Data/QueryData", withJSON(33<<20), new(pluginv2.QueryDataResponse))
	if status.Code(err) != codes.OutOfRange {
		t.Errorf("a 33 MiB request: want OUT_OF_RANGE, got %v", err)
	}
	resp := new(pluginv2.QueryDataResponse)
	if err := p.conn.Invoke(ctx, "/pluginv2.Data/QueryData", withJSON(10), resp); err != nil || resp.Responses["A"] == nil {
		t.Errorf("the call after the refusal: %v %+v", err, resp)
	}
}
