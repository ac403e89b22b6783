package conformance

import (
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
	return float64(procStatusKiB(b, pid, "VmRSS"))
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

// prometheusRequests sums the plugin's own count of requests it sent to Prometheus.
func prometheusRequests(b testing.TB, p *plugin) float64 {
	return metricSum(b, p, "gregg_insights_prometheus_requests_total")
}

// insightsQuerySeconds is the plugin's own time answering `insights` queries so far (the sum
// of its query duration histogram): from parsing the query to the encoded frames.
func insightsQuerySeconds(b testing.TB, p *plugin) float64 {
	return metricSum(b, p, `gregg_insights_query_duration_seconds_sum{query_type="insights"}`)
}

// metricSum adds up every series of the plugin's own metrics whose line starts with prefix.
func metricSum(b testing.TB, p *plugin, prefix string) float64 {
	total := 0.0
	for _, line := range strings.Split(metricsText(b, p), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			b.Fatalf("metric line %q: %v", line, err)
		}
		total += v
	}
	return total
}

// BenchmarkFleetAnalysis: a synthetic fleet analysed through the plugin as Grafana asks for it
// (an `insights` query, every method, the CLI's 10m window). Each iteration is at the next 15 s
// cache bucket, ending at GREGG_BENCH_AT, as a live dashboard's refreshes move forward, so
// Prometheus is really asked; the same query is then repeated within the cache's
// TTL: the dashboard refresh case, answered with no Prometheus request. Reports the medians,
// the Prometheus requests per analysis and per cached repeat (from the plugin's own metrics),
// the cached repeat's time inside the plugin (its own query duration metric: the round trip
// adds gRPC and Grafana's frame decoding in Go),
// and the plugin's peak RSS. GREGG_BENCH_PROMETHEUS and GREGG_BENCH_AT point it at a fleet
// gregg-bench already serves; without them it starts a 100-host fleet.
func BenchmarkFleetAnalysis(b *testing.B) {
	url := os.Getenv("GREGG_BENCH_PROMETHEUS")
	at, _ := strconv.ParseInt(os.Getenv("GREGG_BENCH_AT"), 10, 64)
	if url == "" || at == 0 {
		e := startEnv(b, "fleet", "100")
		url, at = e.Prometheus, e.FleetAt
	}
	p := startPlugin(b)
	pid := p.client.ReattachConfig().Pid
	ds := settings(url, nil, nil)
	p.checkHealth(b, ds) // builds and caches the client, as Save & test does
	var analyses, cached, cachedInside []time.Duration
	var requests, cachedRequests float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := query("A", "insights", time.Unix(at, 0).Add(-time.Duration(b.N-1-i)*15*time.Second), map[string]any{"window": "10m"})
		before := prometheusRequests(b, p)
		started := time.Now()
		resp := p.query(b, ds, q)
		analyses = append(analyses, time.Since(started))
		if err := resp.Responses["A"].Error; err != nil {
			b.Fatalf("analysis: %v", err)
		}
		mid := prometheusRequests(b, p)
		inside := insightsQuerySeconds(b, p)
		started = time.Now()
		resp = p.query(b, ds, q)
		cached = append(cached, time.Since(started))
		cachedInside = append(cachedInside, time.Duration((insightsQuerySeconds(b, p)-inside)*float64(time.Second)))
		if err := resp.Responses["A"].Error; err != nil {
			b.Fatalf("cached repeat: %v", err)
		}
		after := prometheusRequests(b, p)
		requests += mid - before
		cachedRequests += after - mid
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(median(analyses), "analysis-ms")
	b.ReportMetric(median(cached), "cached-ms")
	b.ReportMetric(median(cachedInside), "cached-in-plugin-ms")
	b.ReportMetric(requests/float64(b.N), "prom-req/analysis")
	b.ReportMetric(cachedRequests/float64(b.N), "prom-req/cached")
	b.ReportMetric(float64(procStatusKiB(b, pid, "VmHWM"))/1024, "MiB-peak-RSS")
}
