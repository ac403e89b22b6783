package conformance

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// checkInfo is what the plugin's `checks` resource says about one check.
type checkInfo struct {
	ID         string `json:"id"`
	Thresholds struct {
		Warning  float64 `json:"warning"`
		Critical float64 `json:"critical"`
	} `json:"thresholds"`
	Severity struct {
		Warning  string `json:"warning"`
		Critical string `json:"critical"`
	} `json:"severity"`
}

func cpuCheck(t *testing.T, p *plugin, ds *backend.DataSourceInstanceSettings) checkInfo {
	t.Helper()
	status, body := p.callResource(t, ds, "GET", "checks")
	if status != 200 {
		t.Fatalf("checks resource: %d %s", status, body)
	}
	var catalog struct {
		Checks []checkInfo `json:"checks"`
	}
	if err := json.Unmarshal(body, &catalog); err != nil {
		t.Fatal(err)
	}
	for _, c := range catalog.Checks {
		if c.ID == "cpu.utilization" {
			return c
		}
	}
	t.Fatalf("no cpu.utilization in %s", body)
	return checkInfo{}
}

// severityRank orders severities; "ok" (no CPU insight) is the lowest.
var severityRank = map[string]int{"ok": 0, "info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// expectedSeverity is the severity range the scenario expects for the instance's worst CPU
// insight: ("ok", "ok") when it expects none.
func expectedSeverity(s *scenario, instance string) (string, string) {
	lo, hi := "ok", "ok"
	for _, e := range s.Expect {
		if e.Instance != instance || !strings.HasPrefix(e.Check, "cpu.") {
			continue
		}
		if severityRank[e.Min] > severityRank[lo] {
			lo = e.Min
		}
		if severityRank[e.Max] > severityRank[hi] {
			hi = e.Max
		}
	}
	return lo, hi
}

type row struct {
	instance    string
	utilization float64
	severity    string
}

// rows reads a use_summary frame as Grafana decoded it.
func rows(t *testing.T, frame *data.Frame) []row {
	t.Helper()
	if frame.Name != "use_summary" {
		t.Errorf("frame name %q", frame.Name)
	}
	names := []string{}
	for _, f := range frame.Fields {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "instance,utilization,severity" {
		t.Fatalf("fields %v", names)
	}
	util := frame.Fields[1]
	if util.Type() != data.FieldTypeFloat64 {
		t.Fatalf("utilization is %s", util.Type())
	}
	if util.Config == nil || util.Config.Unit != "percent" {
		t.Errorf("utilization config %+v, want unit percent", util.Config)
	}
	out := []row{}
	for i := 0; i < frame.Rows(); i++ {
		out = append(out, row{
			instance:    frame.Fields[0].At(i).(string),
			utilization: util.At(i).(float64),
			severity:    frame.Fields[2].At(i).(string),
		})
	}
	return out
}

func TestUseSummaryTableMatchesTheScenario(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, map[string]any{}, nil)

	resp := p.query(t, ds, query("A", "use_summary", time.Unix(e.Scenario.At, 0), map[string]any{"window": "5m"}))
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatalf("use_summary failed: %v", r.Error)
	}
	if len(r.Frames) != 1 {
		t.Fatalf("want 1 frame, got %d", len(r.Frames))
	}
	frame := r.Frames[0]
	if frame.RefID != "A" {
		t.Errorf("frame refId %q", frame.RefID)
	}
	if frame.Meta == nil || !strings.Contains(frame.Meta.ExecutedQueryString, "node_cpu_seconds_total") {
		t.Errorf("executedQueryString missing: %+v", frame.Meta)
	}
	if frame.Meta.PreferredVisualization != data.VisTypeTable {
		t.Errorf("preferred visualisation %q", frame.Meta.PreferredVisualization)
	}
	got := rows(t, frame)
	if len(got) != len(e.Scenario.Hosts) {
		t.Fatalf("%d rows for %d hosts", len(got), len(e.Scenario.Hosts))
	}
	for _, h := range e.Scenario.Hosts {
		var found *row
		for i := range got {
			if got[i].instance == h.Instance {
				found = &got[i]
			}
		}
		if found == nil {
			t.Fatalf("no row for %s", h.Instance)
		}
		if math.Abs(found.utilization-h.UtilizationPercent) > 0.01 {
			t.Errorf("%s: utilization %.3f, want %.3f", h.Instance, found.utilization, h.UtilizationPercent)
		}
		lo, hi := expectedSeverity(e.Scenario, h.Instance)
		if r := severityRank[found.severity]; r < severityRank[lo] || r > severityRank[hi] {
			t.Errorf("%s: severity %q, want %s..%s", h.Instance, found.severity, lo, hi)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].utilization > got[i-1].utilization {
			t.Errorf("rows not sorted worst first: %v", got)
		}
	}
}

// Thresholds from the data source's jsonData change the verdict.
func TestThresholdOverridesFromSettings(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, map[string]any{
		"thresholds":     map[string]any{"cpu.utilization": map[string]any{"warning": 5, "critical": 50}},
		"targetSelector": `job="node"`,
	}, nil)
	check := cpuCheck(t, p, ds)
	if check.Thresholds.Warning != 5 || check.Thresholds.Critical != 50 {
		t.Fatalf("checks resource ignores overrides: %+v", check.Thresholds)
	}
	resp := p.query(t, ds, query("A", "use_summary", time.Unix(e.Scenario.At, 0), nil))
	if resp.Responses["A"].Error != nil {
		t.Fatal(resp.Responses["A"].Error)
	}
	// Nothing waits on these hosts, so past the thresholds they are busy, not bottlenecks: past
	// critical is "medium", past warning "low" (the rule for time-shared resources).
	got := rows(t, resp.Responses["A"].Frames[0])
	if len(got) != len(e.Scenario.Hosts) {
		t.Fatalf("%d rows for %d hosts", len(got), len(e.Scenario.Hosts))
	}
	for _, r := range got {
		want := "low"
		if r.utilization >= 50 {
			want = "medium"
		}
		if r.severity != want {
			t.Errorf("%s at %.1f%%: severity %q with warning=5, critical=50; want %q", r.instance, r.utilization, r.severity, want)
		}
	}
}

// Thresholds in the query layer over the data source's, per field, for that query only; a
// query whose thresholds contradict each other fails alone, naming the field.
func TestThresholdOverridesPerQuery(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, map[string]any{
		"thresholds": map[string]any{"cpu.utilization": map[string]any{"warning": 40, "critical": 50}},
	}, nil)
	at := time.Unix(e.Scenario.At, 0)
	tuned := query("A", "use_summary", at, map[string]any{
		"thresholds": map[string]any{"cpu.utilization": map[string]any{"warning": 5}},
	})
	plain := query("B", "use_summary", at, nil)
	// warning 60 is above the data source's critical 50: contradictory once layered.
	contradictory := query("C", "use_summary", at, map[string]any{
		"thresholds": map[string]any{"cpu.utilization": map[string]any{"warning": 60}},
	})
	resp := p.query(t, ds, tuned, plain, contradictory)
	for _, ref := range []string{"A", "B"} {
		if resp.Responses[ref].Error != nil {
			t.Fatalf("%s failed: %v", ref, resp.Responses[ref].Error)
		}
	}
	byInstance := func(ref string) map[string]row {
		out := map[string]row{}
		for _, r := range rows(t, resp.Responses[ref].Frames[0]) {
			out[r.instance] = r
		}
		return out
	}
	tunedRows, plainRows := byInstance("A"), byInstance("B")
	for instance, r := range tunedRows {
		want := "low"
		if r.utilization >= 50 {
			want = "medium"
		}
		if r.severity != want {
			t.Errorf("A: %s at %.1f%%: severity %q with warning=5 (query), critical=50 (data source); want %q", instance, r.utilization, r.severity, want)
		}
	}
	// Without the query's warning, the data source's (40) applies: the 10 % host is fine.
	if idle := plainRows["idle-1:9100"]; idle.severity != "ok" {
		t.Errorf("B: idle-1 at %.1f%% is %q; the query's override must not leak into other queries", idle.utilization, idle.severity)
	}
	if tunedRows["idle-1:9100"].severity != "low" {
		t.Errorf("A: idle-1 at %.1f%% is %q, want low past warning=5", tunedRows["idle-1:9100"].utilization, tunedRows["idle-1:9100"].severity)
	}
	c := resp.Responses["C"]
	if c.Error == nil || !strings.Contains(c.Error.Error(), "thresholds") || c.Status != backend.StatusBadRequest {
		t.Errorf("C: want a 400 naming thresholds, got status %d error %v", c.Status, c.Error)
	}
}

// One bad query fails only its own refId; every refId gets an answer.
func TestMalformedQueriesFailOnlyTheirRefID(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	good := query("A", "use_summary", at, nil)
	unknownType := query("B", "flamegraph_of_everything", at, nil)
	wrongType := query("C", "use_summary", at, map[string]any{"window": 42})
	badDuration := query("D", "use_summary", at, map[string]any{"window": "five minutes"})
	req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
		PluginContext: pluginContext(ds),
		Queries:       []backend.DataQuery{good, unknownType, wrongType, badDuration},
	})
	// Two things Grafana's own client would never build, sent anyway: invalid JSON, no time range.
	req.Queries = append(req.Queries,
		&pluginv2.DataQuery{RefId: "E", Json: []byte(`{"queryType": "use_summary",`), TimeRange: req.Queries[0].TimeRange},
		&pluginv2.DataQuery{RefId: "F", Json: []byte(`{}`)},
	)
	resp := p.queryRaw(t, req)

	if r := resp.Responses["A"]; r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Rows() != len(e.Scenario.Hosts) {
		t.Errorf("the good query must succeed alongside bad ones: %+v", r)
	}
	wants := map[string]string{
		"B": "unknown query type `flamegraph_of_everything`",
		"C": "query field `window`",
		"D": "not a duration",
		"E": "not valid JSON",
		"F": "no time range",
	}
	for ref, want := range wants {
		r, ok := resp.Responses[ref]
		if !ok {
			t.Errorf("no response for %s", ref)
			continue
		}
		if r.Error == nil || !strings.Contains(r.Error.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", ref, r.Error, want)
		}
		if r.Status != backend.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", ref, r.Status)
		}
		if len(r.Frames) != 0 {
			t.Errorf("%s: an error response carries no frames", ref)
		}
	}
}

// A Prometheus that is down fails each query with a clear, actionable message.
func TestDeadPrometheusFailsQueriesClearly(t *testing.T) {
	p := startPlugin(t)
	ds := settings("http://127.0.0.1:1", nil, nil)
	resp := p.query(t, ds, query("A", "use_summary", time.Now(), nil), query("B", "", time.Now(), nil))
	for _, ref := range []string{"A", "B"} {
		r := resp.Responses[ref]
		if r.Error == nil || !strings.Contains(r.Error.Error(), "cannot reach Prometheus at http://127.0.0.1:1") {
			t.Errorf("%s: %v", ref, r.Error)
		}
		if r.Status != backend.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", ref, r.Status)
		}
	}
}

// Invalid settings fail every query with a message naming the field, never the whole request.
func TestInvalidSettingsNameTheField(t *testing.T) {
	p := startPlugin(t)
	ds := settings("http://127.0.0.1:1", map[string]any{"timeout": "soon"}, nil)
	resp := p.query(t, ds, query("A", "use_summary", time.Now(), nil))
	if r := resp.Responses["A"]; r.Error == nil || !strings.Contains(r.Error.Error(), "jsonData.timeout") {
		t.Errorf("A: %v", r.Error)
	}
	ds.JSONData = []byte(`{not json`)
	resp = p.query(t, ds, query("A", "use_summary", time.Now(), nil))
	if r := resp.Responses["A"]; r.Error == nil || !strings.Contains(r.Error.Error(), "jsonData is not valid JSON") {
		t.Errorf("A with broken jsonData: %v", r.Error)
	}
}

// Grafana sends users whose role the Rust SDK does not know (e.g. "None"); that must not matter.
func TestUnknownUserRolesDoNotBreakRequests(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, nil, nil)
	ctx := pluginContext(ds)
	ctx.User = &backend.User{Login: "viewer", Name: "No Role", Role: "None"}
	req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
		PluginContext: ctx,
		Queries:       []backend.DataQuery{query("A", "use_summary", time.Unix(e.Scenario.At, 0), nil)},
	})
	resp := p.queryRaw(t, req)
	if r := resp.Responses["A"]; r.Error != nil || len(r.Frames) != 1 {
		t.Fatalf("query with role None: %+v", r)
	}
	health, err := p.diagnostics.CheckHealth(context.Background(), &pluginv2.CheckHealthRequest{
		PluginContext: backend.ToProto().PluginContext(ctx),
	})
	if err != nil {
		t.Fatalf("CheckHealth with role None failed as a call: %v", err)
	}
	// The scenario's data is in the past, so this Prometheus is unhealthy *now*; what matters
	// is a health verdict rather than a failed call.
	if health.Message == "" {
		t.Errorf("empty health message")
	}
}
