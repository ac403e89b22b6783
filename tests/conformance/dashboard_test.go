package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

const grafanaToken = "glsa_GO-HARNESS-secret-token-5f1e"

// grafanaAPI is a small stand-in for Grafana's HTTP API: the scenario dashboard under
// /api/dashboards/uid/, the search API (filtering by tag and folder), the data source list;
// every request must carry the token, and every request line is kept.
type grafanaAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func startGrafanaAPI(t *testing.T) *grafanaAPI {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "data", "dashboards", "scenario-incident.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dashboard map[string]any
	if err := json.Unmarshal(raw, &dashboard); err != nil {
		t.Fatal(err)
	}
	api := &grafanaAPI{}
	write := func(w http.ResponseWriter, status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.mu.Lock()
		api.requests = append(api.requests, r.Method+" "+r.URL.String())
		api.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+grafanaToken {
			write(w, 401, map[string]string{"message": "Unauthorized"})
			return
		}
		switch r.URL.Path {
		case "/api/dashboards/uid/gregg-incident":
			write(w, 200, map[string]any{"dashboard": dashboard, "meta": map[string]any{"folderUid": "ops"}})
		case "/api/dashboards/uid/broken":
			write(w, 500, map[string]string{"message": "database is locked"})
		case "/api/search":
			hits := []map[string]any{}
			tags := r.URL.Query()["tag"]
			folders := r.URL.Query()["folderUIDs"]
			matches := (len(tags) == 0 || (len(tags) == 1 && tags[0] == "gregg")) &&
				(len(folders) == 0 || (len(folders) == 1 && folders[0] == "ops"))
			if r.URL.Query().Get("type") == "dash-db" && matches {
				hits = append(hits, map[string]any{"uid": "gregg-incident", "title": dashboard["title"],
					"url": "/d/gregg-incident", "type": "dash-db", "tags": dashboard["tags"],
					"folderUid": "ops", "folderTitle": "Ops"})
			}
			write(w, 200, hits)
		case "/api/datasources":
			write(w, 200, []map[string]any{{"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": true}})
		default:
			write(w, 404, map[string]string{"message": "Not found"})
		}
	}))
	t.Cleanup(api.Close)
	return api
}

func (g *grafanaAPI) seen() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Join(g.requests, "\n")
}

// dashboardQuery is a `dashboard` query over the scenario's last hour.
func dashboardQuery(refID string, at time.Time, model map[string]any) backend.DataQuery {
	q := query(refID, "dashboard", at, model)
	q.TimeRange = backend.TimeRange{From: at.Add(-time.Hour), To: at}
	q.MaxDataPoints = 200
	return q
}

func TestDashboardQueryFlagsTheScenarioPanels(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "dashboard_incident")
	api := startGrafanaAPI(t)
	ds := settings(e.Prometheus, map[string]any{"grafanaUrl": api.URL}, map[string]string{"grafanaToken": grafanaToken})
	at := time.Unix(e.Scenario.At, 0)

	resp := p.query(t, ds,
		dashboardQuery("D", at, map[string]any{"dashboardUid": "gregg-incident"}),
		dashboardQuery("P", at, map[string]any{"dashboardUid": "gregg-incident", "panelIds": []int{6, 7}, "variables": map[string]any{"instance": "web-1:9100"}}),
		dashboardQuery("M", at, map[string]any{"dashboardUid": "nope"}),
		dashboardQuery("X", at, map[string]any{}),
	)
	r := resp.Responses["D"]
	if r.Error != nil {
		t.Fatalf("dashboard query failed: %v\n%s", r.Error, p.logs.String())
	}
	if len(r.Frames) != 2 || r.Frames[0].Name != "insights" || r.Frames[1].Name != "dashboard_queries" {
		t.Fatalf("frames: %d %v", len(r.Frames), r.Frames)
	}
	insights := r.Frames[0]
	title, severity, instance, methodology, check, observation :=
		column(t, insights, "title"), column(t, insights, "severity"), column(t, insights, "instance"),
		column(t, insights, "methodology"), column(t, insights, "check"), column(t, insights, "observation")
	flagged := map[string]string{}
	correlated := false
	for i := 0; i < insights.Rows(); i++ {
		if str(methodology, i) != "dashboard_analysis" {
			t.Errorf("row %d methodology %q", i, str(methodology, i))
		}
		switch str(check, i) {
		case "dashboard.threshold", "dashboard.plateau":
			for _, panel := range []string{"CPU Busy", "Load per CPU", "CPU Pressure (waiting)", "Memory Used"} {
				if strings.Contains(str(title, i), `"`+panel+`"`) {
					flagged[panel] = str(severity, i) + "@" + str(instance, i)
					if !strings.Contains(str(observation, i), "USE Method agrees") {
						t.Errorf("%s not tied to USE: %s", panel, str(observation, i))
					}
				}
			}
		case "dashboard.correlation":
			if strings.Contains(str(title, i), `"CPU Busy"`) && strings.Contains(str(title, i), `"Load per CPU"`) {
				correlated = true
			}
		}
	}
	for _, panel := range []string{"CPU Busy", "Load per CPU", "CPU Pressure (waiting)"} {
		got := flagged[panel]
		if got != "critical@api-1:9100" && got != "high@api-1:9100" {
			t.Errorf("%s: flagged %q, want high or critical on api-1:9100 (all: %v)", panel, got, flagged)
		}
	}
	if got, ok := flagged["Memory Used"]; ok {
		t.Errorf("Memory Used flagged (%s) on a healthy memory", got)
	}
	if !correlated {
		t.Errorf("CPU Busy and Load per CPU not named as correlated")
	}
	// Notices say what was skipped; the query inspector gets the PromQL that ran.
	var notices []string
	if insights.Meta != nil {
		for _, n := range insights.Meta.Notices {
			notices = append(notices, n.Text)
		}
	}
	for _, want := range []string{"library panel `lib-missing`", "`loki` is not Prometheus", "does not parse", "$cluster"} {
		if !strings.Contains(strings.Join(notices, "\n"), want) {
			t.Errorf("no notice mentions %q: %v", want, notices)
		}
	}
	if insights.Meta == nil || !strings.Contains(insights.Meta.ExecutedQueryString, "node_cpu_seconds_total") {
		t.Errorf("executedQueryString: %+v", insights.Meta)
	}
	queries := r.Frames[1]
	panels := map[string]bool{}
	for i := 0; i < queries.Rows(); i++ {
		panels[str(column(t, queries, "panel_title"), i)] = true
	}
	for _, want := range []string{"CPU Busy", "Memory Used", "Running tasks on api-1:9100", "Running tasks on web-1:9100"} {
		if !panels[want] {
			t.Errorf("panel %q did not run; ran %v", want, panels)
		}
	}

	// panelIds and variables narrow the reading.
	if pr := resp.Responses["P"]; pr.Error != nil || len(pr.Frames) != 2 {
		t.Errorf("panel query: %v", pr.Error)
	} else {
		q := pr.Frames[1]
		var titles []string
		for i := 0; i < q.Rows(); i++ {
			titles = append(titles, str(column(t, q, "panel_title"), i))
		}
		if strings.Join(titles, "|") != "Memory Used|Running tasks on web-1:9100" {
			t.Errorf("panelIds [6 7] with instance=web-1 ran %v", titles)
		}
	}
	// A missing dashboard and a missing uid fail only their own refId, clearly.
	if m := resp.Responses["M"]; m.Error == nil || !strings.Contains(m.Error.Error(), "404") {
		t.Errorf("missing dashboard: %v", m.Error)
	}
	if x := resp.Responses["X"]; x.Error == nil || !strings.Contains(x.Error.Error(), "dashboardUid") {
		t.Errorf("no uid: %v", x.Error)
	}

	// The token never leaves: not in frames, not in errors, not in the plugin's log.
	encoded, _ := json.Marshal(resp)
	assertNoSecret(t, "the QueryData response", string(encoded), grafanaToken)
	assertNoSecret(t, "the plugin's log", p.logs.String(), grafanaToken)
	if !strings.Contains(api.seen(), "/api/dashboards/uid/gregg-incident") {
		t.Errorf("the dashboard was not fetched from Grafana's API: %s", api.seen())
	}
}

func TestDashboardResources(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "dashboard_incident")
	api := startGrafanaAPI(t)
	ds := settings(e.Prometheus, map[string]any{"grafanaUrl": api.URL}, map[string]string{"grafanaToken": grafanaToken})

	status, body := p.callResource(t, ds, "GET", "dashboards?tag=gregg&folderUIDs=ops")
	var list struct {
		Dashboards []struct {
			UID       string   `json:"uid"`
			Title     string   `json:"title"`
			Tags      []string `json:"tags"`
			FolderUID string   `json:"folderUid"`
		} `json:"dashboards"`
	}
	if status != 200 || json.Unmarshal(body, &list) != nil || len(list.Dashboards) != 1 || list.Dashboards[0].UID != "gregg-incident" {
		t.Fatalf("dashboards: %d %s", status, body)
	}
	if !strings.Contains(api.seen(), "tag=gregg") || !strings.Contains(api.seen(), "folderUIDs=ops") {
		t.Errorf("search filters not passed to Grafana: %s", api.seen())
	}
	status, body = p.callResource(t, ds, "GET", "dashboards?tag=other")
	if status != 200 || !strings.Contains(string(body), `"dashboards":[]`) {
		t.Errorf("dashboards?tag=other: %d %s", status, body)
	}

	window := fmt.Sprintf("from=%d&to=%d", e.Scenario.At-3600, e.Scenario.At)
	status, body = p.callResource(t, ds, "GET", "dashboards/gregg-incident/analysis?format=markdown&"+window)
	if status != 200 || !strings.Contains(string(body), "CPU Busy") || !strings.Contains(string(body), "red threshold") {
		t.Errorf("analysis markdown: %d %.600s", status, body)
	}
	status, body = p.callResource(t, ds, "GET", "dashboards/gregg-incident/analysis?format=json&var-instance=web-1:9100&"+window)
	var report struct {
		Insights []struct {
			Title    string `json:"title"`
			Severity string `json:"severity"`
		} `json:"insights"`
	}
	if status != 200 || json.Unmarshal(body, &report) != nil || len(report.Insights) == 0 {
		t.Fatalf("analysis json: %d %.300s", status, body)
	}
	for _, i := range report.Insights {
		if i.Severity != "info" && i.Severity != "low" {
			t.Errorf("healthy web-1 has a %s finding: %s", i.Severity, i.Title)
		}
	}
	for path, want := range map[string]string{
		"dashboards/nope/analysis":                "404",
		"dashboards/broken/analysis":              "database is locked",
		"dashboards/gregg-incident/analysis?x=1":  "`x`",
		"dashboards/gregg-incident/extra":         "available:",
		"dashboards/..%2F..%2Fadmin/analysis":     "available:",
		"dashboards/gregg-incident/analysis?to=z": "`to`",
	} {
		status, body := p.callResource(t, ds, "GET", path)
		if status < 400 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %s, want an error naming %s", path, status, body, want)
		}
	}
	// A wrong token: Grafana's 401 is reported, and neither token shows.
	wrong := settings(e.Prometheus, map[string]any{"grafanaUrl": api.URL}, map[string]string{"grafanaToken": "glsa_WRONG-secret"})
	status, body = p.callResource(t, wrong, "GET", "dashboards")
	if status < 400 || !strings.Contains(string(body), "401") {
		t.Errorf("wrong token: %d %s", status, body)
	}
	assertNoSecret(t, "resource bodies", string(body), grafanaToken, "glsa_WRONG-secret")
	assertNoSecret(t, "the plugin's log", p.logs.String(), grafanaToken, "glsa_WRONG-secret")
	// Without a Grafana URL (and no GF_APP_URL), the message says what to set.
	none := settings(e.Prometheus, map[string]any{}, nil)
	status, body = p.callResource(t, none, "GET", "dashboards")
	if status != 400 || !strings.Contains(string(body), "grafanaUrl") {
		t.Errorf("no Grafana URL: %d %s", status, body)
	}
}

// finding is what the three ways of reading a dashboard must agree on.
type finding struct{ Check, Instance, Device, Severity, Title string }

// findingSet lists the findings, sorted, one a line.
func findingSet(fs []finding) string {
	lines := make([]string, 0, len(fs))
	for _, f := range fs {
		lines = append(lines, fmt.Sprintf("%s | %s | %s | %s | %s", f.Check, f.Instance, f.Device, f.Severity, f.Title))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// jsonFindings reads the insights of a JSON report.
func jsonFindings(t *testing.T, what string, body []byte) []finding {
	t.Helper()
	var report struct {
		Insights []struct {
			Check    string  `json:"check"`
			Instance *string `json:"instance"`
			Device   *string `json:"device"`
			Severity string  `json:"severity"`
			Title    string  `json:"title"`
		} `json:"insights"`
	}
	if err := json.Unmarshal(body, &report); err != nil || len(report.Insights) == 0 {
		t.Fatalf("%s: not a JSON report with insights (%v): %.400s", what, err, body)
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	var out []finding
	for _, i := range report.Insights {
		out = append(out, finding{i.Check, deref(i.Instance), deref(i.Device), i.Severity, i.Title})
	}
	return out
}

// TestDashboardFindingsAgreeAcrossCLIQueryAndResource reads one dashboard over one range and
// one Prometheus through the CLI (`gregg-insights dashboard --format json`), the `dashboard`
// query type and the `dashboards/<uid>/analysis` resource: the findings must be the same.
func TestDashboardFindingsAgreeAcrossCLIQueryAndResource(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "dashboard_incident")
	api := startGrafanaAPI(t)
	ds := settings(e.Prometheus, map[string]any{"grafanaUrl": api.URL}, map[string]string{"grafanaToken": grafanaToken})
	// The plugin rounds the end of a range up to 15 s for its caches: end on a boundary so
	// all three read the same range.
	to := e.Scenario.At - e.Scenario.At%15
	from := to - 3600

	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(grafanaToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cliBinary(t), "dashboard", "--grafana", api.URL, "--token-file", tokenFile,
		"--uid", "gregg-incident", "--prometheus", e.Prometheus,
		"--from", fmt.Sprint(from), "--to", fmt.Sprint(to), "--format", "json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); err != nil && code != 3 {
		t.Fatalf("CLI: %v\n%s", err, stderr.String())
	}
	cli := findingSet(jsonFindings(t, "CLI", out))

	q := dashboardQuery("D", time.Unix(to, 0), map[string]any{"dashboardUid": "gregg-incident"})
	q.TimeRange = backend.TimeRange{From: time.Unix(from, 0), To: time.Unix(to, 0)}
	resp := p.query(t, ds, q)
	r := resp.Responses["D"]
	if r.Error != nil || len(r.Frames) == 0 {
		t.Fatalf("dashboard query: %v\n%s", r.Error, p.logs.String())
	}
	f := r.Frames[0]
	check, instance, device, severity, title :=
		column(t, f, "check"), column(t, f, "instance"), column(t, f, "device"), column(t, f, "severity"), column(t, f, "title")
	var fromQuery []finding
	for i := 0; i < f.Rows(); i++ {
		fromQuery = append(fromQuery, finding{str(check, i), str(instance, i), str(device, i), str(severity, i), str(title, i)})
	}
	query := findingSet(fromQuery)

	status, body := p.callResource(t, ds, "GET",
		fmt.Sprintf("dashboards/gregg-incident/analysis?format=json&from=%d&to=%d", from, to))
	if status != 200 {
		t.Fatalf("resource: %d %.400s", status, body)
	}
	resource := findingSet(jsonFindings(t, "resource", body))

	if !strings.Contains(cli, "dashboard.threshold") || !strings.Contains(cli, "api-1:9100") {
		t.Errorf("the CLI flagged no panel on api-1:\n%s", cli)
	}
	if query != cli {
		t.Errorf("the dashboard query and the CLI differ:\nquery:\n%s\nCLI:\n%s", query, cli)
	}
	if resource != cli {
		t.Errorf("the resource and the CLI differ:\nresource:\n%s\nCLI:\n%s", resource, cli)
	}
}
