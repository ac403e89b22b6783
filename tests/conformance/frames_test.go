package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/protobuf/proto"
)

// fieldNames lists a frame's field names.
func fieldNames(f *data.Frame) []string {
	names := []string{}
	for _, field := range f.Fields {
		names = append(names, field.Name)
	}
	return names
}

// column returns the field called name, failing the test without it.
func column(t *testing.T, f *data.Frame, name string) *data.Field {
	t.Helper()
	field, idx := f.FieldByName(name)
	if idx < 0 {
		t.Fatalf("frame %s has no field %q (fields %v)", f.Name, name, fieldNames(f))
	}
	return field
}

// str reads a string or nullable string cell.
func str(field *data.Field, i int) string {
	switch v := field.At(i).(type) {
	case string:
		return v
	case *string:
		if v == nil {
			return ""
		}
		return *v
	}
	return ""
}

// isNumberSet applies Grafana server-side expressions' rule for a table that alerts: exactly
// one numeric field, every other field a string.
func isNumberSet(f *data.Frame) bool {
	numeric := 0
	for _, field := range f.Fields {
		switch {
		case field.Type().Numeric():
			numeric++
		case field.Type() == data.FieldTypeString || field.Type() == data.FieldTypeNullableString:
		default:
			return false
		}
	}
	return numeric == 1
}

func metricsText(t testing.TB, p *plugin) string {
	t.Helper()
	resp, err := p.diagnostics.CollectMetrics(context.Background(), &pluginv2.CollectMetricsRequest{
		PluginContext: &pluginv2.PluginContext{PluginId: pluginID},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(resp.Metrics.Prometheus)
}

// TestOneAnalysisServesInsightsReportAlertAndMatrix sends the four analysis query types of a
// dashboard in one request on mixed_fleet (12 hosts; hot-7 a CPU bottleneck, full-3 a full
// filesystem) and checks each decoded frame, the alert rule evaluated over the decoded number
// set, and that Prometheus saw one analysis.
func TestOneAnalysisServesInsightsReportAlertAndMatrix(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "mixed_fleet")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	resp := p.query(t, ds,
		query("I", "insights", at, map[string]any{"window": "10m"}),
		query("R", "report", at, map[string]any{"window": "10m"}),
		query("A", "alert", at, map[string]any{"window": "10m"}),
		query("M", "use_matrix", at, map[string]any{"window": "10m"}),
	)
	for _, ref := range []string{"I", "R", "A", "M"} {
		if r := resp.Responses[ref]; r.Error != nil {
			t.Fatalf("%s failed: %v", ref, r.Error)
		}
	}

	// insights: one column per model field, sorted by severity then confidence.
	ins := resp.Responses["I"].Frames[0]
	want := "id,timestamp,severity,severity_level,methodology,component,issue_type,use_signal,title,observation,evidence,root_cause,immediate_action,investigation_steps,long_term_fix,related_metrics,confidence,book_reference,instance,device,check,started_at,ended_at,namespace,pod,container,node"
	if got := strings.Join(fieldNames(ins), ","); got != want {
		t.Fatalf("insights fields\n got %s\nwant %s", got, want)
	}
	level, conf := column(t, ins, "severity_level"), column(t, ins, "confidence")
	for i := 1; i < ins.Rows(); i++ {
		a, b := level.At(i-1).(float64), level.At(i).(float64)
		if a < b || (a == b && conf.At(i-1).(float64) < conf.At(i).(float64)) {
			t.Fatalf("insights not sorted by severity then confidence at row %d", i)
		}
	}
	if ins.Meta == nil || !strings.Contains(ins.Meta.ExecutedQueryString, "node_cpu_seconds_total") {
		t.Errorf("executedQueryString should list the PromQL that ran")
	}

	// alert: a number set; severity >= 3 fires exactly for the scenario's broken hosts.
	alert := resp.Responses["A"].Frames[0]
	if !isNumberSet(alert) {
		t.Fatalf("alert frame is not a number set: %v", fieldNames(alert))
	}
	broken := map[string]bool{}
	for _, x := range e.Scenario.Expect {
		if severityRank[x.Min] >= severityRank["high"] {
			broken[x.Instance] = true
		}
	}
	firing, seen := map[string]bool{}, map[string]bool{}
	inst, lvl := column(t, alert, "instance"), column(t, alert, "severity_level")
	column(t, alert, "component")
	column(t, alert, "check")
	for i := 0; i < alert.Rows(); i++ {
		seen[str(inst, i)] = true
		if lvl.At(i).(float64) >= 3 {
			firing[str(inst, i)] = true
		}
	}
	if len(broken) < 2 || len(firing) != len(broken) {
		t.Fatalf("firing %v, want exactly %v", firing, broken)
	}
	for h := range broken {
		if !firing[h] {
			t.Errorf("%s should fire", h)
		}
	}
	if len(seen) != len(e.Scenario.Hosts) {
		t.Errorf("alert rows cover %d instances, want all %d (healthy ones at 0)", len(seen), len(e.Scenario.Hosts))
	}

	// report: summary, insights, checks, Markdown, and the flagged insights' series.
	names := []string{}
	for _, f := range resp.Responses["R"].Frames {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "summary,insights,checks,report,series" {
		t.Fatalf("report frames %v", names)
	}
	summary := resp.Responses["R"].Frames[0]
	if got := column(t, summary, "total").At(0).(float64); int(got) != ins.Rows() {
		t.Errorf("summary total %v, insights %d", got, ins.Rows())
	}
	if sr := resp.Responses["R"].Frames[4]; sr.Rows() == 0 {
		t.Errorf("report: the series frame is empty although hot-7 is flagged")
	}
	md := str(column(t, resp.Responses["R"].Frames[3], "markdown"), 0)
	if !strings.HasPrefix(md, "# Systems performance analysis report") || !strings.Contains(md, "hot-7:9100") {
		t.Errorf("markdown report: %.200s", md)
	}

	// use_matrix: every host × resource × signal it has data for, hot-7's CPU critical.
	m := resp.Responses["M"].Frames[0]
	mi, mc, ms, ml := column(t, m, "instance"), column(t, m, "component"), column(t, m, "signal"), column(t, m, "level")
	found := false
	for i := 0; i < m.Rows(); i++ {
		if str(mi, i) == "hot-7:9100" && str(mc, i) == "cpu" && str(ms, i) == "utilization" {
			found = str(ml, i) == "critical"
		}
	}
	if !found {
		t.Errorf("hot-7's CPU utilization cell should be critical")
	}

	// One analysis for four queries.
	text := metricsText(t, p)
	for _, want := range []string{
		`gregg_insights_analyses_total{outcome="computed"} 1`,
		`gregg_insights_analyses_total{outcome="shared"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestQueryFiltersNarrowEveryFrame: minimum severity, components, an instance regex; bad
// filters fail their own refId naming the field.
func TestQueryFiltersNarrowEveryFrame(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "mixed_fleet")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	resp := p.query(t, ds,
		query("H", "insights", at, map[string]any{"window": "10m", "minSeverity": "high"}),
		query("F", "insights", at, map[string]any{"window": "10m", "components": []string{"filesystem"}}),
		query("X", "alert", at, map[string]any{"window": "10m", "instances": "hot-7:.*"}),
		query("V", "instances", at, map[string]any{"instances": "(hot|full)-.*"}),
		query("B", "insights", at, map[string]any{"instances": "hot-(7"}),
		query("C", "insights", at, map[string]any{"minSeverity": "urgent"}),
		query("T", "insights", at, map[string]any{"thresholds": map[string]any{"cpu.utilization": map[string]any{"warning": "x"}}}),
	)
	sev := column(t, resp.Responses["H"].Frames[0], "severity")
	for i := 0; i < sev.Len(); i++ {
		if s := str(sev, i); s != "high" && s != "critical" {
			t.Errorf("minSeverity high let %s through", s)
		}
	}
	comp := column(t, resp.Responses["F"].Frames[0], "component")
	if comp.Len() == 0 {
		t.Errorf("filesystem insights expected")
	}
	for i := 0; i < comp.Len(); i++ {
		if str(comp, i) != "filesystem" {
			t.Errorf("components filter let %s through", str(comp, i))
		}
	}
	inst := column(t, resp.Responses["X"].Frames[0], "instance")
	for i := 0; i < inst.Len(); i++ {
		if str(inst, i) != "hot-7:9100" {
			t.Errorf("instances filter let %s through", str(inst, i))
		}
	}
	vals := []string{}
	v := column(t, resp.Responses["V"].Frames[0], "instance")
	for i := 0; i < v.Len(); i++ {
		vals = append(vals, str(v, i))
	}
	sort.Strings(vals)
	if strings.Join(vals, ",") != "full-3:9100,hot-7:9100" {
		t.Errorf("instances values %v", vals)
	}
	for ref, field := range map[string]string{"B": "instances", "C": "minSeverity", "T": "thresholds"} {
		r := resp.Responses[ref]
		if r.Error == nil || !strings.Contains(r.Error.Error(), "`"+field+"`") || r.Status != backend.StatusBadRequest {
			t.Errorf("%s: want a 400 naming `%s`, got %v (%d)", ref, field, r.Error, r.Status)
		}
	}
}

// rangeQuery is query() over the last `span` before `to`, with the panel's interval.
func rangeQuery(refID, queryType string, to time.Time, span time.Duration, model map[string]any) backend.DataQuery {
	q := query(refID, queryType, to, model)
	q.TimeRange = backend.TimeRange{From: to.Add(-span), To: to}
	return q
}

// TestAnnotationsAndTimelineShowWhenAConditionHeld: transient_condition's CPU bottleneck held
// from 8 to 3 minutes before the end; the annotation region and the timeline's CPU series must
// say so, and nothing for the calm host or other resources.
func TestAnnotationsAndTimelineShowWhenAConditionHeld(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "transient_condition")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	from, to := at.Add(-480*time.Second), at.Add(-180*time.Second)
	resp := p.query(t, ds,
		rangeQuery("Anno", "annotations", at, time.Hour, nil),
		rangeQuery("T", "severity_timeline", at, time.Hour, nil),
		rangeQuery("U", "severity_timeline", at, time.Hour, map[string]any{"timelineBy": "instance"}),
	)
	for _, ref := range []string{"Anno", "T", "U"} {
		if r := resp.Responses[ref]; r.Error != nil {
			t.Fatalf("%s failed: %v", ref, r.Error)
		}
	}

	anno := resp.Responses["Anno"].Frames[0]
	if got := strings.Join(fieldNames(anno), ","); got != "time,timeEnd,title,text,tags" {
		t.Fatalf("annotation fields %s", got)
	}
	if anno.Fields[0].Type() != data.FieldTypeTime || anno.Fields[1].Type() != data.FieldTypeTime {
		t.Fatalf("time and timeEnd must be times: %s %s", anno.Fields[0].Type(), anno.Fields[1].Type())
	}
	if anno.Rows() == 0 {
		t.Fatal("no annotation for the bottleneck")
	}
	for i := 0; i < anno.Rows(); i++ {
		start := anno.Fields[0].At(i).(time.Time)
		end := anno.Fields[1].At(i).(time.Time)
		tags := str(anno.Fields[4], i)
		if !strings.Contains(tags, "blip-1:9100") || !strings.HasPrefix(tags, "cpu,") {
			t.Errorf("region %d tags %q: want a cpu region on blip-1", i, tags)
		}
		// Within a step (1 min) of the truth on each side.
		if start.Before(from.Add(-2*time.Minute)) || start.After(from.Add(time.Minute)) ||
			end.Before(to.Add(-time.Minute)) || end.After(to.Add(time.Minute)) {
			t.Errorf("region %d %s–%s, want about %s–%s (%s)", i, start.Format("15:04"), end.Format("15:04"),
				from.Format("15:04"), to.Format("15:04"), str(anno.Fields[2], i))
		}
	}

	timeline := resp.Responses["T"].Frames[0]
	schema := timeline.TimeSeriesSchema()
	if schema.Type != data.TimeSeriesTypeWide {
		t.Fatalf("severity_timeline is %s, want wide", schema.Type)
	}
	for _, f := range timeline.Fields[1:] {
		component := f.Labels["component"]
		if f.Name != "severity_level" || component == "" || f.Config != nil {
			t.Fatalf("series %s %v config %v: want severity_level with a component label and no config", f.Name, f.Labels, f.Config)
		}
		worst, before := 0.0, 0.0
		for i := 0; i < f.Len(); i++ {
			v := f.At(i).(float64)
			ts := timeline.Fields[0].At(i).(time.Time)
			if v > worst {
				worst = v
			}
			if ts.Before(from.Add(-2*time.Minute)) && v > before {
				before = v
			}
		}
		switch {
		case component == "cpu" && worst < 3:
			t.Errorf("cpu peaks at %v, want high or critical during the bottleneck", worst)
		case component == "cpu" && before != 0:
			t.Errorf("cpu is %v before the bottleneck", before)
		case component != "cpu" && worst != 0:
			t.Errorf("%s reaches %v, want 0", component, worst)
		}
	}
	byInstance := resp.Responses["U"].Frames[0]
	if byInstance.TimeSeriesSchema().Type != data.TimeSeriesTypeWide || len(byInstance.Fields) != 3 {
		t.Fatalf("per-instance timeline: %v", fieldNames(byInstance))
	}
}

// TestPromqlCheckJudgesTheUsersQuery: the persona's custom queries, judged like a catalog check
// and told in the insight model; every bad field fails its own refId naming the field.
func TestPromqlCheckJudgesTheUsersQuery(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	busy := `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", ${selector}}[${rate}])))`
	good := map[string]any{"window": "10m", "expr": busy, "warning": 80, "critical": 95, "unit": "percent",
		"title": "Busy CPUs", "component": "cpu"}
	withField := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range good {
			m[key] = val
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	resp := p.query(t, ds,
		query("P", "promql_check", at, good),
		query("E", "promql_check", at, withField("expr", "rate(")),
		query("N", "promql_check", at, withField("expr", nil)),
		query("T", "promql_check", at, withField("title", "Busy ${nope}")),
		query("W", "promql_check", at, withField("warning", "high")),
		query("D", "promql_check", at, withField("direction", "sideways")),
		query("Q", "no_such_type", at, nil),
	)
	r := resp.Responses["P"]
	if r.Error != nil {
		t.Fatalf("promql_check failed: %v", r.Error)
	}
	f := r.Frames[0]
	got := map[string]string{}
	inst, sev, meth := column(t, f, "instance"), column(t, f, "severity"), column(t, f, "methodology")
	for i := 0; i < f.Rows(); i++ {
		got[str(inst, i)] = str(sev, i)
		if str(meth, i) != "custom_query" {
			t.Errorf("methodology %s, want custom_query", str(meth, i))
		}
	}
	// busy-1 is at 97 % (past critical), warm-1 at 85 % (past warning), idle-1 quiet.
	if got["busy-1:9100"] != "critical" || got["warm-1:9100"] != "high" || len(got) != 2 {
		t.Errorf("promql_check findings %v", got)
	}
	if !strings.Contains(str(column(t, f, "title"), 0), "Busy CPUs on ") {
		t.Errorf("title %q", str(column(t, f, "title"), 0))
	}
	for ref, field := range map[string]string{"E": "expr", "N": "expr", "T": "title", "W": "warning", "D": "direction"} {
		r := resp.Responses[ref]
		if r.Error == nil || !strings.Contains(r.Error.Error(), "`"+field+"`") || r.Status != backend.StatusBadRequest {
			t.Errorf("%s: want a 400 naming `%s`, got %v (%d)", ref, field, r.Error, r.Status)
		}
	}
	if q := resp.Responses["Q"]; q.Error == nil || !strings.Contains(q.Error.Error(), "severity_timeline") {
		t.Errorf("unknown type should list the types: %v", q.Error)
	}
}

// TestEveryQueryTypeDecodes asks for every query type in one request on mixed_fleet and logs
// the beginning of each decoded frame (`go test -v -run TestEveryQueryTypeDecodes`).
func TestEveryQueryTypeDecodes(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "mixed_fleet")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	types := []string{"insights", "report", "annotations", "alert", "use_matrix", "severity_timeline", "promql_check", "instances", "use_summary"}
	queries := []backend.DataQuery{}
	for _, qt := range types {
		model := map[string]any{"window": "10m", "minSeverity": "high"}
		if qt == "promql_check" {
			model = map[string]any{"window": "10m", "expr": `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", ${selector}}[${rate}])))`, "warning": 80, "critical": 95, "unit": "percent", "component": "cpu", "title": "Busy CPUs"}
		}
		q := rangeQuery(qt, qt, at, time.Hour, model)
		queries = append(queries, q)
	}
	resp := p.query(t, ds, queries...)
	for _, qt := range types {
		r := resp.Responses[qt]
		if r.Error != nil {
			t.Errorf("%s: %v", qt, r.Error)
			continue
		}
		if len(r.Frames) == 0 || r.Frames[0].Rows() == 0 {
			t.Errorf("%s: no rows", qt)
			continue
		}
		for _, f := range r.Frames {
			table, err := f.StringTable(6, 4)
			if err != nil {
				t.Errorf("%s: %v", qt, err)
			}
			t.Logf("%s → frame %q, %d rows × %d fields\n%s", qt, f.Name, f.Rows(), len(f.Fields), table)
		}
	}
}

// TestReportFramesForTheBrowser writes the decoded `report` frames of mixed_fleet as Grafana's
// data frame JSON to frontend/test-output/report-frames.json (or GREGG_FRAMES_OUT), for the
// browser test that renders the built report panel from a real plugin response, and the `checks`
// resource's answer beside it (checks.json) for the config editor.
func TestReportFramesForTheBrowser(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "mixed_fleet")
	ds := settings(e.Prometheus, nil, nil)
	resp := p.query(t, ds, query("R", "report", time.Unix(e.Scenario.At, 0), map[string]any{"window": "10m"}))
	r := resp.Responses["R"]
	if r.Error != nil {
		t.Fatalf("report failed: %v", r.Error)
	}
	raw, err := json.Marshal(r.Frames)
	if err != nil {
		t.Fatal(err)
	}
	// Round trip: what the browser reads decodes to the same frames.
	var back data.Frames
	if err := json.Unmarshal(raw, &back); err != nil || len(back) != len(r.Frames) {
		t.Fatalf("frames JSON does not round-trip: %v", err)
	}
	out := os.Getenv("GREGG_FRAMES_OUT")
	if out == "" {
		out = filepath.Join("..", "..", "frontend", "test-output", "report-frames.json")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	// The config editor lists every check with its defaults from the `checks` resource; the
	// browser test serves this real answer to the editor.
	status, checks := p.callResource(t, ds, "GET", "checks")
	if status != 200 {
		t.Fatalf("checks resource: %d %s", status, checks)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(out), "checks.json"), checks, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFleetFramesForTheBrowser writes the `report` and `use_matrix` frames of a backfilled fleet
// of 1,000 hosts (`gregg-testenv fleet 1000`: a CPU bottleneck on every 50th host, a full
// filesystem on every 97th, memory pressure on every 31st) to frontend/test-output/
// fleet-report-frames.json and fleet-matrix-frames.json (or under GREGG_FLEET_FRAMES_DIR), for
// the browser test's screenshots of both panels with a 1,000-host report and its render-time
// figure. One request, as a dashboard with both panels sends them.
func TestFleetFramesForTheBrowser(t *testing.T) {
	const hosts = 1000
	p := startPlugin(t)
	e := startEnv(t, "fleet", strconv.Itoa(hosts))
	ds := settings(e.Prometheus, map[string]any{"timeout": 120}, nil)
	at := time.Unix(e.FleetAt, 0)
	resp := p.query(t, ds, query("R", "report", at, map[string]any{"window": "10m"}), query("M", "use_matrix", at, map[string]any{"window": "10m"}))
	dir := os.Getenv("GREGG_FLEET_FRAMES_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "frontend", "test-output")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for ref, file := range map[string]string{"R": "fleet-report-frames.json", "M": "fleet-matrix-frames.json"} {
		r := resp.Responses[ref]
		if r.Error != nil {
			t.Fatalf("%s failed: %v", ref, r.Error)
		}
		instances := map[string]bool{}
		for _, f := range r.Frames {
			if f.Name != "use_matrix" {
				continue
			}
			field, _ := f.FieldByName("instance")
			for i := 0; i < field.Len(); i++ {
				if v, ok := field.ConcreteAt(i); ok {
					instances[fmt.Sprint(v)] = true
				}
			}
		}
		if ref == "M" && len(instances) != hosts {
			t.Fatalf("use_matrix has %d instances, want %d", len(instances), hosts)
		}
		raw, err := json.Marshal(r.Frames)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d frames, %d bytes", file, len(r.Frames), len(raw))
	}
}

// TestARepeatedRefreshIsAnsweredFromTheEncodedAnswers: a dashboard refresh asking the same
// queries within the cache's lifetime gets the very same encoded frames, with no Prometheus
// request and no analysis; another refId, another window or re-saved settings are answered
// afresh (the plugin's response cache, src/plugin/responses.rs).
func TestARepeatedRefreshIsAnsweredFromTheEncodedAnswers(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "mixed_fleet")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	refresh := func(ds *backend.DataSourceInstanceSettings, queries ...backend.DataQuery) *pluginv2.QueryDataResponse {
		t.Helper()
		req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{PluginContext: pluginContext(ds), Queries: queries})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		resp, err := p.data.QueryData(ctx, req)
		if err != nil {
			t.Fatalf("QueryData: %v", err)
		}
		for ref, r := range resp.Responses {
			if r.Error != "" {
				t.Fatalf("%s failed: %s", ref, r.Error)
			}
		}
		return resp
	}
	panels := func(model func() map[string]any) []backend.DataQuery {
		return []backend.DataQuery{query("I", "insights", at, model()), query("M", "use_matrix", at, model())}
	}
	tenMinutes := func() map[string]any { return map[string]any{"window": "10m"} }

	first := refresh(ds, panels(tenMinutes)...)
	requests, computed := prometheusRequests(t, p), metricSum(t, p, `gregg_insights_analyses_total{outcome="computed"}`)
	if computed != 1 {
		t.Fatalf("the first refresh should compute one analysis, computed %v", computed)
	}
	second := refresh(ds, panels(tenMinutes)...)
	for _, ref := range []string{"I", "M"} {
		a, b := first.Responses[ref].Frames, second.Responses[ref].Frames
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("%s: %d frames, then %d", ref, len(a), len(b))
		}
		for i := range a {
			if string(a[i]) != string(b[i]) {
				t.Errorf("%s frame %d differs on the repeat", ref, i)
			}
		}
	}
	if got := prometheusRequests(t, p) - requests; got != 0 {
		t.Errorf("the repeat sent %v requests to Prometheus", got)
	}
	if got := metricSum(t, p, `gregg_insights_analyses_total{outcome="computed"}`); got != 1 {
		t.Errorf("the repeat computed an analysis (%v in all)", got)
	}

	// Another refId: the same analysis, frames carrying the new refId.
	other := refresh(ds, query("J", "insights", at, tenMinutes()))
	decoded, err := backend.FromProto().QueryDataResponse(other)
	if err != nil {
		t.Fatal(err)
	}
	if f := decoded.Responses["J"].Frames; len(f) == 0 || f[0].RefID != "J" {
		t.Errorf("refId J answered with frames of another refId: %+v", f)
	}
	if got := metricSum(t, p, `gregg_insights_analyses_total{outcome="computed"}`); got != 1 {
		t.Errorf("a new refId over the same analysis computed another (%v in all)", got)
	}

	// Another window, then re-saved settings: new analyses.
	refresh(ds, query("I", "insights", at, map[string]any{"window": "5m"}))
	if got := metricSum(t, p, `gregg_insights_analyses_total{outcome="computed"}`); got != 2 {
		t.Errorf("another window should compute a second analysis, computed %v", got)
	}
	saved := *ds
	saved.Updated = ds.Updated.Add(time.Second)
	refresh(&saved, panels(tenMinutes)...)
	if got := metricSum(t, p, `gregg_insights_analyses_total{outcome="computed"}`); got != 3 {
		t.Errorf("re-saved settings should compute afresh, computed %v", got)
	}
}

// TestManyAnswersInOneCallArriveWhole: one call of 200 `report` queries (one analysis, 200
// refIds) is a message of many map entries and frames, sent as body chunks with the frames'
// bytes as they are: Grafana's decoder reads every answer, each frame under its own refId.
func TestManyAnswersInOneCallArriveWhole(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "mixed_fleet")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	const n = 200
	queries := make([]backend.DataQuery, 0, n)
	for i := 0; i < n; i++ {
		queries = append(queries, query(fmt.Sprintf("R%03d", i), "report", at, map[string]any{"window": "10m"}))
	}
	req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{PluginContext: pluginContext(ds), Queries: queries})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raw, err := p.data.QueryData(ctx, req)
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	size := proto.Size(raw)
	resp, err := backend.FromProto().QueryDataResponse(raw)
	if err != nil {
		t.Fatalf("Grafana's decoder rejected the answer: %v", err)
	}
	if len(resp.Responses) != n {
		t.Fatalf("%d answers for %d queries", len(resp.Responses), n)
	}
	var shape string
	for ref, r := range resp.Responses {
		if r.Error != nil || len(r.Frames) == 0 {
			t.Fatalf("%s: error %v, %d frames", ref, r.Error, len(r.Frames))
		}
		rows := make([]string, 0, len(r.Frames))
		for _, f := range r.Frames {
			if f.RefID != ref {
				t.Errorf("%s: a frame of refId %q", ref, f.RefID)
			}
			rows = append(rows, fmt.Sprintf("%s:%d", f.Name, f.Rows()))
		}
		if got := strings.Join(rows, ","); shape == "" {
			shape = got
		} else if got != shape {
			t.Errorf("%s: frames %s, the others %s", ref, got, shape)
		}
	}
	t.Logf("%d answers, %.1f MiB, frames %s", n, float64(size)/(1<<20), shape)
	if size < 1<<20 {
		t.Errorf("the answer is only %d bytes: not the many-chunk message this test is about", size)
	}
}
