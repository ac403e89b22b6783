package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"gopkg.in/yaml.v3"
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
