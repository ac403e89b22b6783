package conformance

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func TestHealthOKAgainstLivePrometheusWithNodeExporter(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "live")
	res := p.checkHealth(t, settings(e.Prometheus, nil, nil))
	if res.Status != backend.HealthStatusOk {
		t.Fatalf("status %v: %s", res.Status, res.Message)
	}
	for _, want := range []string{"Prometheus ", "is healthy", "1 instance exposes node_exporter metrics", "scraped every 1s"} {
		if !strings.Contains(res.Message, want) {
			t.Errorf("message lacks %q: %s", want, res.Message)
		}
	}
	// Grafana answers 500 unless jsonDetails is a JSON object.
	var details map[string]any
	if err := json.Unmarshal(res.JSONDetails, &details); err != nil {
		t.Fatalf("jsonDetails is not an object: %s", res.JSONDetails)
	}
	if details["instances"] != float64(1) {
		t.Errorf("details.instances = %v", details["instances"])
	}
}

func TestHealthErrorsAreDistinctAndActionable(t *testing.T) {
	p := startPlugin(t)
	scenarioEnv := startEnv(t, "scenario", "cpu_mixed") // data only in the past: nothing now
	live := startEnv(t, "live")

	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("Unauthorized"))
	}))
	defer unauthorized.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Go notices a client hanging up only once the request body is read; without this the
		// plugin's abandoned POST queries would look open until the handler gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()

	cases := []struct {
		name string
		ds   *backend.DataSourceInstanceSettings
		want []string
	}{
		{"refused", settings("http://127.0.0.1:1", nil, nil), []string{"Prometheus is unreachable", "cannot reach Prometheus at http://127.0.0.1:1"}},
		{"unknown host", settings("http://gregg-insights-test.invalid:9090", nil, nil), []string{"Prometheus is unreachable", "cannot resolve"}},
		{"not prometheus", settings(live.Prometheus+"/not-here", nil, nil), []string{"not a Prometheus API", "path prefix"}},
		{"401", settings(unauthorized.URL, nil, map[string]string{"bearerToken": "tok-SECRET"}), []string{"refused the credentials", "HTTP 401"}},
		{"tls", settings(strings.Replace(live.Prometheus, "http://", "https://", 1), nil, nil), []string{"TLS failed", "try http://"}},
		{"timeout", settings(slow.URL, map[string]any{"timeout": 1}, nil), []string{"Prometheus timed out", "did not answer"}},
		{"no node_exporter data", settings(scenarioEnv.Prometheus, nil, nil), []string{"is up but has no node_exporter data"}},
		{"selector matches nothing", settings(live.Prometheus, map[string]any{"targetSelector": `job="nope"`}, nil), []string{"no node_exporter data", `job="nope"`}},
		{"bad settings", settings(live.Prometheus, map[string]any{"targetSelector": "job=node"}, nil), []string{"jsonData.targetSelector"}},
		{"no url", settings("", nil, nil), []string{"no Prometheus URL"}},
	}
	seen := map[string]string{}
	for _, c := range cases {
		started := time.Now()
		res := p.checkHealth(t, c.ds)
		if res.Status != backend.HealthStatusError {
			t.Errorf("%s: status %v (%s)", c.name, res.Status, res.Message)
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(res.Message, want) {
				t.Errorf("%s: message lacks %q: %s", c.name, want, res.Message)
			}
		}
		if other, dup := seen[res.Message]; dup {
			t.Errorf("%s and %s give the same message", c.name, other)
		}
		seen[res.Message] = c.name
		if len(res.JSONDetails) > 0 {
			var details map[string]any
			if err := json.Unmarshal(res.JSONDetails, &details); err != nil {
				t.Errorf("%s: jsonDetails is not an object: %s", c.name, res.JSONDetails)
			}
		}
		assertNoSecret(t, c.name+" health message", res.Message+string(res.JSONDetails), "tok-SECRET")
		if elapsed := time.Since(started); elapsed > 5*time.Second {
			t.Errorf("%s: health check took %v", c.name, elapsed)
		}
	}
	assertNoSecret(t, "plugin logs", p.logs.String(), "tok-SECRET")
}
