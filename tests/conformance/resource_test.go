package conformance

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestResourcesAnswerJSONAndStayInTheirRoutes(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "live")
	secrets := map[string]string{"basicAuthPassword": "pw-SECRET", "httpHeaderValue1": "hv-SECRET"}
	ds := settings(e.Prometheus, map[string]any{"httpHeaderName1": "X-Scope-OrgID"}, secrets)

	status, body := p.callResource(t, ds, "GET", "checks")
	if status != 200 || !strings.Contains(string(body), `"cpu.utilization"`) {
		t.Fatalf("checks: %d %s", status, body)
	}

	status, body = p.callResource(t, ds, "GET", "instances")
	var instances struct {
		Instances []string `json:"instances"`
	}
	if status != 200 || json.Unmarshal(body, &instances) != nil {
		t.Fatalf("instances: %d %s", status, body)
	}
	if len(instances.Instances) != 1 || instances.Instances[0] != e.NodeExporter {
		t.Errorf("instances = %v, want [%s]", instances.Instances, e.NodeExporter)
	}

	for _, path := range []string{"../checks", "checks/../../etc/passwd", "%2e%2e/checks", "", "nope", "checks/extra"} {
		status, body := p.callResource(t, ds, "GET", path)
		if status != 404 || !strings.Contains(string(body), "available: GET checks, GET instances, GET report") {
			t.Errorf("GET %q: %d %s", path, status, body)
		}
	}
	// The report, for other tools and agents, in each format; coverage.
	status, body = p.callResource(t, ds, "GET", "report?format=json&window=30s")
	var report struct {
		Summary  map[string]any   `json:"summary"`
		Insights []map[string]any `json:"insights"`
	}
	if status != 200 || json.Unmarshal(body, &report) != nil || report.Summary == nil {
		t.Fatalf("report json: %d %.300s", status, body)
	}
	status, body = p.callResource(t, ds, "GET", "report?format=markdown&window=30s&minSeverity=high")
	if status != 200 || !strings.HasPrefix(string(body), "# Systems performance analysis report") {
		t.Errorf("report markdown: %d %.200s", status, body)
	}
	status, body = p.callResource(t, ds, "GET", "report?format=text&window=30s")
	if status != 200 || !strings.Contains(string(body), "SYSTEMS PERFORMANCE ANALYSIS REPORT") {
		t.Errorf("report text: %d %.200s", status, body)
	}
	for query, field := range map[string]string{
		"report?format=pdf":          "`format`",
		"report?window=5":            "`window`",
		"report?instances=a(b":       "`instances`",
		"report?at=yesterday":        "`at`",
		"report?colour=blue":         "`colour`",
		"coverage?minSeverity=worst": "`minSeverity`",
	} {
		status, body := p.callResource(t, ds, "GET", query)
		if status != 400 || !strings.Contains(string(body), field) {
			t.Errorf("GET %s: %d %s, want 400 naming %s", query, status, body, field)
		}
	}
	status, body = p.callResource(t, ds, "GET", "coverage?window=30s")
	var coverage struct {
		Instances     []string         `json:"instances"`
		Collectors    []map[string]any `json:"collectors"`
		NotObservable []map[string]any `json:"notObservable"`
	}
	if status != 200 || json.Unmarshal(body, &coverage) != nil || len(coverage.Collectors) == 0 || len(coverage.NotObservable) == 0 {
		t.Errorf("coverage: %d %.300s", status, body)
	}

	status, body = p.callResource(t, ds, "POST", "checks")
	if status != 405 {
		t.Errorf("POST checks: %d %s", status, body)
	}
	// A path no URL parser accepts is a 400 from the plugin, not a failed gRPC call.
	status, body = p.callResource(t, ds, "GET", "checks with spaces")
	if status != 400 || !strings.Contains(string(body), "not a valid URL path") {
		t.Errorf("GET with spaces: %d %s", status, body)
	}
	assertNoSecret(t, "plugin logs", p.logs.String(), "pw-SECRET", "hv-SECRET")
}

// Resources answer 400 for bad input (checked before Prometheus is asked), 502 when
// Prometheus cannot be reached and 504 when it does not answer in time.
func TestResourcesTellBadInputFromUpstreamFailures(t *testing.T) {
	p := startPlugin(t)
	dead := settings("http://127.0.0.1:1", nil, nil)
	for query, field := range map[string]string{
		"report?at=-5":          "`at`",
		"report?components=gpu": "`components`",
		"coverage?window=10s":   "`window`",
	} {
		status, body := p.callResource(t, dead, "GET", query)
		if status != 400 || !strings.Contains(string(body), field) {
			t.Errorf("GET %s: %d %s, want 400 naming %s", query, status, body, field)
		}
	}
	for _, path := range []string{"report?window=30s", "coverage?window=30s", "instances"} {
		status, body := p.callResource(t, dead, "GET", path)
		if status != 502 || !strings.Contains(string(body), "cannot reach Prometheus at http://127.0.0.1:1") {
			t.Errorf("GET %s against a dead Prometheus: %d %s, want 502", path, status, body)
		}
	}
	fp := startFaultProxy(t, "http://127.0.0.1:1", "")
	fp.set(faultHang, true)
	hanging := settings(fp.URL(), map[string]any{"timeout": 2}, nil)
	status, body := p.callResource(t, hanging, "GET", "instances")
	if status != 504 || !strings.Contains(string(body), "did not answer") {
		t.Errorf("GET instances against a hanging Prometheus: %d %s, want 504", status, body)
	}
}
