package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"gopkg.in/yaml.v3"

	"github.com/gregg-insights/gregg-insights/tests/conformance/provision"
)

// The shipped provisioning file must describe a data source the plugin accepts and that is
// healthy against a real Prometheus scraping node_exporter as job "node".
func TestShippedProvisioningIsHealthy(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "provisioning", "datasources", "gregg-insights.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Datasources []struct {
			Type           string            `yaml:"type"`
			URL            string            `yaml:"url"`
			JSONData       map[string]any    `yaml:"jsonData"`
			SecureJSONData map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("provisioning YAML: %v", err)
	}
	if len(file.Datasources) != 1 || file.Datasources[0].Type != pluginID {
		t.Fatalf("expected one %s data source, got %+v", pluginID, file.Datasources)
	}
	provisioned := file.Datasources[0]
	if _, err := json.Marshal(provisioned.JSONData); err != nil {
		t.Fatalf("jsonData does not convert to JSON: %v", err)
	}

	p := startPlugin(t)
	e := startEnv(t, "live")
	// Same settings, pointed at the test Prometheus instead of the compose service name.
	ds := settings(e.Prometheus, provisioned.JSONData, provisioned.SecureJSONData)
	res := p.checkHealth(t, ds)
	if res.Status != backend.HealthStatusOk {
		t.Fatalf("the provisioned settings are not healthy: %s", res.Message)
	}
}

// TestShippedDashboardAndAlertRuleAreGeneratedAndAnswered: the committed dashboard and alert
// rule are exactly what tests/conformance/provision builds (regenerate with `go run mage.go
// provisioning`), reference only panel types that exist, and every Gregg Insights query in
// them is answered by the plugin on scenario data.
func TestShippedDashboardAndAlertRuleAreGeneratedAndAnswered(t *testing.T) {
	built, err := provision.Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := provision.AlertFile()
	if err != nil {
		t.Fatal(err)
	}
	for path, v := range map[string]any{
		filepath.Join("dashboards", "use-method.json"):   built,
		filepath.Join("alerting", "gregg-insights.json"): alerts,
	} {
		want, _ := json.MarshalIndent(v, "", "  ")
		got, err := os.ReadFile(filepath.Join("..", "..", "provisioning", path))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want)+"\n" {
			t.Errorf("%s is not what provision builds: run `go run mage.go provisioning`", path)
		}
	}

	// The app ships its copy: plugin.json includes it, at the path webpack copies it to.
	for _, manifest := range []string{filepath.Join("..", "..", "plugin.json"), filepath.Join("..", "..", "frontend", "src", "plugin.json")} {
		var app struct {
			Includes []struct {
				Type string `json:"type"`
				Path string `json:"path"`
			} `json:"includes"`
		}
		raw, err := os.ReadFile(manifest)
		if err != nil || json.Unmarshal(raw, &app) != nil {
			t.Fatalf("%s: %v", manifest, err)
		}
		included := false
		for _, inc := range app.Includes {
			included = included || (inc.Type == "dashboard" && inc.Path == "dashboards/use-method.json")
		}
		if !included {
			t.Errorf("%s does not include dashboards/use-method.json", manifest)
		}
	}

	// Panel types: Grafana's own, or ours (the nested panels' plugin.json).
	known := map[string]bool{"timeseries": true, "table": true, "stat": true, "state-timeline": true, "text": true, "row": true}
	for _, nested := range []string{"panel", "matrix"} {
		var panelPlugin struct {
			ID string `json:"id"`
		}
		raw, err := os.ReadFile(filepath.Join("..", "..", "frontend", "src", nested, "plugin.json"))
		if err != nil || json.Unmarshal(raw, &panelPlugin) != nil {
			t.Fatalf("%s plugin.json: %v", nested, err)
		}
		known[panelPlugin.ID] = true
	}
	var dash struct {
		Panels []struct {
			Type    string            `json:"type"`
			Title   string            `json:"title"`
			Targets []json.RawMessage `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Annotations struct {
			List []struct {
				Target json.RawMessage `json:"target"`
			} `json:"list"`
		} `json:"annotations"`
	}
	raw, _ := os.ReadFile(filepath.Join("..", "..", "provisioning", "dashboards", "use-method.json"))
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	targets := []json.RawMessage{}
	for _, p := range dash.Panels {
		if !known[p.Type] {
			t.Errorf("panel %q has type %q, which neither Grafana nor this plugin provides", p.Title, p.Type)
		}
		// The USE matrix is drawn by the matrix panel, not listed in a table.
		for _, target := range p.Targets {
			var model struct {
				QueryType string `json:"queryType"`
			}
			if json.Unmarshal(target, &model) == nil && model.QueryType == "use_matrix" && p.Type != provision.MatrixPanelType {
				t.Errorf("panel %q shows the use_matrix query as %q, not with the USE-matrix panel", p.Title, p.Type)
			}
		}
		targets = append(targets, p.Targets...)
	}
	for _, v := range dash.Templating.List {
		if v.Name == "instance" {
			targets = append(targets, v.Query)
		}
	}
	for _, a := range dash.Annotations.List {
		targets = append(targets, a.Target)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Data []struct {
					DatasourceUID string          `json:"datasourceUid"`
					Model         json.RawMessage `json:"model"`
				} `json:"data"`
			} `json:"rules"`
		} `json:"groups"`
	}
	raw, _ = os.ReadFile(filepath.Join("..", "..", "provisioning", "alerting", "gregg-insights.json"))
	if err := json.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, d := range r.Data {
				if d.DatasourceUID == provision.DatasourceUID {
					targets = append(targets, d.Model)
				}
			}
		}
	}

	// Every Gregg Insights query, with `$instance` as "All" (.*), answered on mixed_fleet.
	p := startPlugin(t)
	e := startEnv(t, "scenario", "mixed_fleet")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	asked := map[string]bool{}
	queries := []backend.DataQuery{}
	for i, raw := range targets {
		var model map[string]any
		if err := json.Unmarshal(raw, &model); err != nil {
			t.Fatal(err)
		}
		ref, _ := model["datasource"].(map[string]any)
		if ref["uid"] != provision.DatasourceUID {
			continue
		}
		if model["instances"] == "$instance" {
			model["instances"] = ".*"
		}
		queryType, _ := model["queryType"].(string)
		asked[queryType] = true
		queries = append(queries, query(string(rune('A'+i)), queryType, at, model))
	}
	resp := p.query(t, ds, queries...)
	for _, q := range queries {
		if r := resp.Responses[q.RefID]; r.Error != nil {
			t.Errorf("%s (%s) failed: %v", q.RefID, q.QueryType, r.Error)
		}
	}
	for _, want := range []string{"report", "use_matrix", "severity_timeline", "insights", "instances", "annotations", "alert"} {
		if !asked[want] {
			t.Errorf("the provisioning never uses %s", want)
		}
	}
}
