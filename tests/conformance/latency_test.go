package conformance

import (
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func cliBinary(t testing.TB) string {
	return binary(t, "GREGG_CLI",
		filepath.Join("..", "..", "target", "release", "gregg-insights"),
		"cargo build --release --bin gregg-insights")
}

// TestNativeHistogramLatency serves a native (sparse) histogram from client_golang, lets a real
// Prometheus with native histograms enabled scrape it, and checks the CLI's latency analysis:
// promtool cannot backfill native histograms, so this is the only way to exercise them.
//
// 1 observation in 28 takes 0.8 s (±10 %), the rest 10 ms: p99 lies in the slow mode, p50 in
// the fast one, and 96.4 % of requests are within 250 ms, below a 99 % objective.
func TestNativeHistogramLatency(t *testing.T) {
	registry := prometheus.NewRegistry()
	histogram := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                        "native_request_duration_seconds",
		Help:                        "Synthetic request latency (native buckets only).",
		NativeHistogramBucketFactor: 1.1,
	})
	registry.MustRegister(histogram)
	server := httptest.NewServer(promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	defer server.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		n := 0
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
				for i := 0; i < 10; i++ {
					n++
					spread := 0.9 + 0.2*float64(n%11)/10
					if n%28 == 0 {
						histogram.Observe(0.8 * spread)
					} else {
						histogram.Observe(0.010 * spread)
					}
				}
			}
		}
	}()

	e := startEnv(t, "scrape", strings.TrimPrefix(server.URL, "http://"))
	// Two 10 s windows of data: the window and its baseline.
	time.Sleep(23 * time.Second)

	out, err := exec.Command(cliBinary(t), "analyze", "--prometheus", e.Prometheus,
		"--window", "10s", "--methods", "latency", "--format", "json",
		"--histogram", `native_request_duration_seconds{job="app"}`, "--slo", "250ms@99").Output()
	if err != nil {
		t.Fatalf("gregg-insights analyze: %v\n%s", err, out)
	}
	var report struct {
		Insights []struct {
			Check      string             `json:"check"`
			Severity   string             `json:"severity"`
			Title      string             `json:"title"`
			Confidence float64            `json:"confidence"`
			Instance   *string            `json:"instance"`
			Evidence   map[string]float64 `json:"evidence"`
		} `json:"insights"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	found := false
	for _, i := range report.Insights {
		if i.Check != "latency.slo" {
			continue
		}
		found = true
		ev := i.Evidence
		if p99 := ev["p99_seconds"]; p99 < 0.7 || p99 > 0.9 {
			t.Errorf("p99 %.3f s, want the slow mode (0.72–0.88 s)", p99)
		}
		if p50 := ev["p50_seconds"]; p50 < 0.008 || p50 > 0.012 {
			t.Errorf("p50 %.4f s, want the fast mode (9–11 ms)", p50)
		}
		// Native buckets at factor 1.1 are at most ~9 % wide: a tight bound.
		if lo, hi := ev["p99_lower_seconds"], ev["p99_upper_seconds"]; hi <= lo || hi/lo > 1.1 {
			t.Errorf("p99 bucket %.4f–%.4f s, want one native bucket", lo, hi)
		}
		if a := ev["slo_attainment_percent"]; a < 95.5 || a > 97.5 {
			t.Errorf("attainment %.2f %%, want about 96.4 %%", a)
		}
		if i.Severity != "high" && i.Severity != "critical" {
			t.Errorf("severity %s, want high or critical: %s", i.Severity, i.Title)
		}
		if i.Instance == nil || !strings.HasPrefix(*i.Instance, "127.0.0.1:") {
			t.Errorf("instance %v, want the one target", i.Instance)
		}
		if i.Confidence < 70 {
			t.Errorf("confidence %.0f: native buckets are fine-grained and complete", i.Confidence)
		}
	}
	if !found {
		t.Fatalf("no latency.slo insight:\n%s", out)
	}
}
