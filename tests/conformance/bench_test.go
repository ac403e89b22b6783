package conformance

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Figures, not assertions: `go run mage.go bench` prints them. Nothing here can fail on a busy
// machine.

// rssKiB reads a process' resident set size from /proc.
func rssKiB(b *testing.B, pid int) float64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc on this system: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			v, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				b.Fatal(err)
			}
			return v
		}
	}
	b.Fatal("no VmRSS line")
	return 0
}

// percentiles reports p50 and p99 of the samples as custom metrics.
func percentiles(b *testing.B, samples []time.Duration) {
	b.Helper()
	if len(samples) == 0 {
		return
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 {
		i := int(q * float64(len(samples)-1))
		return float64(samples[i].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkIdleRSS: the plugin's resident memory two seconds after the handshake.
func BenchmarkIdleRSS(b *testing.B) {
	for i := 0; i < b.N; i++ {
		p := startPlugin(b)
		time.Sleep(2 * time.Second)
		b.ReportMetric(rssKiB(b, p.client.ReattachConfig().Pid)/1024, "MiB-RSS")
		p.client.Kill()
	}
}

// BenchmarkCheckHealth: Save & test against a local Prometheus scraping node_exporter.
func BenchmarkCheckHealth(b *testing.B) {
	p := startPlugin(b)
	e := startEnv(b, "live")
	ds := settings(e.Prometheus, nil, nil)
	p.checkHealth(b, ds) // builds and caches the client
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		started := time.Now()
		res := p.checkHealth(b, ds)
		samples = append(samples, time.Since(started))
		if res.Status != backend.HealthStatusOk {
			b.Fatalf("unhealthy: %s", res.Message)
		}
	}
	b.StopTimer()
	percentiles(b, samples)
	b.ReportMetric(rssKiB(b, p.client.ReattachConfig().Pid)/1024, "MiB-RSS")
}

// BenchmarkUseSummary: one use_summary query over the backfilled cpu_mixed fleet.
func BenchmarkUseSummary(b *testing.B) {
	p := startPlugin(b)
	e := startEnv(b, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, nil, nil)
	q := query("A", "use_summary", time.Unix(e.Scenario.At, 0), nil)
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		started := time.Now()
		resp := p.query(b, ds, q)
		samples = append(samples, time.Since(started))
		if resp.Responses["A"].Error != nil {
			b.Fatal(resp.Responses["A"].Error)
		}
	}
	b.StopTimer()
	percentiles(b, samples)
}
