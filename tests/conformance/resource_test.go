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
		if status != 404 || !strings.Contains(string(body), "available: GET checks, GET instances") {
			t.Errorf("GET %q: %d %s", path, status, body)
		}
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
