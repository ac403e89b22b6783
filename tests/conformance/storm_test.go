package conformance

// The incident storm (issue 16): hundreds of distinct analyses at once on one data source,
// health checks and template-variable queries beside them, another data source's settings
// changing all the while. Before admission, 300 at once were all lost after ~46 s with an
// error blaming a healthy Prometheus.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// analysesTotal reads gregg_insights_analyses_total{outcome} from CollectMetrics.
func analysesTotal(t testing.TB, p *plugin, outcome string) int {
	t.Helper()
	return int(metricSum(t, p, `gregg_insights_analyses_total{outcome="`+outcome+`"}`))
}

func percentile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), samples...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[int(q*float64(len(sorted)-1))]
}

// stormResult is what one call of a storm came back with.
type stormResult struct {
	latency time.Duration
	err     string // empty when served
}

// stormQuery is request i of a storm: insights, report or use_matrix, each over its own window
// so that every one needs its own analysis (the cache shares identical ones only).
func stormQuery(i int, at time.Time) backend.DataQuery {
	types := []string{"insights", "report", "use_matrix"}
	return query("A", types[i%len(types)], at, map[string]any{"window": fmt.Sprintf("%ds", 120+i)})
}

// storm sends n distinct analyses through ds at once and returns each one's latency and error.
func storm(p *plugin, ds *backend.DataSourceInstanceSettings, n int, at time.Time, deadline time.Duration) []stormResult {
	results := make([]stormResult, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
				PluginContext: pluginContext(ds),
				Queries:       []backend.DataQuery{stormQuery(i, at)},
			})
			<-start
			results[i] = timedQuery(p, req, deadline)
		}(i)
	}
	close(start)
	wg.Wait()
	return results
}

// timedQuery sends one request and tells how long it took and why it failed, if it did.
func timedQuery(p *plugin, req *pluginv2.QueryDataRequest, deadline time.Duration) stormResult {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	resp, err := p.data.QueryData(ctx, req)
	r := stormResult{latency: time.Since(began)}
	if err == nil {
		var decoded *backend.QueryDataResponse
		if decoded, err = backend.FromProto().QueryDataResponse(resp); err == nil {
			for _, answer := range decoded.Responses {
				if answer.Error != nil {
					err = answer.Error
				}
			}
		}
	}
	if err != nil {
		r.err = err.Error()
	}
	return r
}

// stormSummary splits results into served and failed-busy, with latencies of each.
type stormSummary struct {
	served, busy, other     []time.Duration
	otherErrors             []string
	slowestBusy, slowestAll time.Duration
}

func summarise(results []stormResult) stormSummary {
	var s stormSummary
	for _, r := range results {
		s.slowestAll = max(s.slowestAll, r.latency)
		switch {
		case r.err == "":
			s.served = append(s.served, r.latency)
		case strings.Contains(r.err, "busy: "):
			s.busy = append(s.busy, r.latency)
			s.slowestBusy = max(s.slowestBusy, r.latency)
		default:
			s.other = append(s.other, r.latency)
			if len(s.otherErrors) < 5 {
				s.otherErrors = append(s.otherErrors, r.err)
			}
		}
	}
	return s
}

func (s stormSummary) String() string {
	return fmt.Sprintf("served %d (p50 %s, p99 %s), busy %d (p50 %s, p99 %s), other errors %d, slowest call %s",
		len(s.served), percentile(s.served, 0.5).Round(time.Millisecond), percentile(s.served, 0.99).Round(time.Millisecond),
		len(s.busy), percentile(s.busy, 0.5).Round(time.Millisecond), percentile(s.busy, 0.99).Round(time.Millisecond),
		len(s.other), s.slowestAll.Round(time.Millisecond))
}

func TestStormOfDistinctAnalysesIsAdmittedOrRefusedFast(t *testing.T) {
	const (
		analyses  = 300
		callBound = 90 * time.Second // every call returns within this (generous: two shared cores)
		busyBound = 5 * time.Second  // a refused call is refused at once, not after a timeout
		rssBound  = 256              // MiB, the plugin's peak RSS
	)
	e := startEnv(t, "scenario", "cpu_mixed")
	p := startPlugin(t)
	at := time.Unix(e.Scenario.At, 0)
	ds := settings(e.Prometheus, nil, nil)
	other := settings(e.Prometheus, nil, nil)

	ctx, stop := context.WithCancel(context.Background())
	var side sync.WaitGroup
	var sideMu sync.Mutex
	var sideResults []stormResult
	record := func(r stormResult) {
		sideMu.Lock()
		sideResults = append(sideResults, r)
		sideMu.Unlock()
	}
	// Another data source's settings change every 100 ms; each version answers `instances`.
	side.Add(1)
	go func() {
		defer side.Done()
		for ctx.Err() == nil {
			changed := *other
			changed.Updated = time.Now()
			req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
				PluginContext: pluginContext(&changed),
				Queries:       []backend.DataQuery{query("A", "instances", at, nil)},
			})
			go record(timedQuery(p, req, callBound))
			time.Sleep(100 * time.Millisecond)
		}
	}()
	// Health checks and template variables on the stormed data source, all along.
	var healthMu sync.Mutex
	var health []time.Duration
	var healthErrors []string
	side.Add(1)
	go func() {
		defer side.Done()
		for ctx.Err() == nil {
			began := time.Now()
			hctx, cancel := context.WithTimeout(context.Background(), callBound)
			resp, err := p.diagnostics.CheckHealth(hctx, &pluginv2.CheckHealthRequest{
				PluginContext: backend.ToProto().PluginContext(pluginContext(ds)),
			})
			cancel()
			healthMu.Lock()
			health = append(health, time.Since(began))
			if err != nil {
				healthErrors = append(healthErrors, err.Error())
			} else if !strings.Contains(resp.Message, " is up") {
				// The scenario's data is in the past, so the verdict itself may be "no data
				// now"; what matters is that Prometheus was reached, not queued behind the storm.
				healthErrors = append(healthErrors, resp.Message)
			}
			healthMu.Unlock()
			req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
				PluginContext: pluginContext(ds),
				Queries:       []backend.DataQuery{query("A", "instances", at, nil)},
			})
			record(timedQuery(p, req, callBound))
			time.Sleep(200 * time.Millisecond)
		}
	}()

	began := time.Now()
	results := storm(p, ds, analyses, at, callBound)
	wall := time.Since(began)
	stop()
	side.Wait()
	time.Sleep(200 * time.Millisecond) // the last settings-change calls
	s := summarise(results)
	rss := procStatusKiB(t, p.pid(), "VmHWM") / 1024
	fmt.Printf("STORM %d distinct analyses at once in %s: %s; peak RSS %d MiB\n", analyses, wall.Round(time.Millisecond), s, rss)
	fmt.Printf("  beside it: %d health checks (p99 %s), %d instances queries\n", len(health), percentile(health, 0.99).Round(time.Millisecond), len(sideResults))

	if len(s.served) == 0 {
		t.Errorf("no analysis was served")
	}
	if len(s.other) > 0 {
		t.Errorf("%d calls failed other than busy, e.g. %q", len(s.other), s.otherErrors)
	}
	if s.slowestBusy > busyBound {
		t.Errorf("a busy refusal took %s (bound %s): refusals must be fast", s.slowestBusy, busyBound)
	}
	if s.slowestAll > callBound {
		t.Errorf("a call took %s (bound %s)", s.slowestAll, callBound)
	}
	for _, r := range append(results, sideResults...) {
		if strings.Contains(r.err, "Prometheus") || strings.Contains(r.err, "did not answer") {
			t.Errorf("an error blames a healthy Prometheus: %.300s", r.err)
			break
		}
	}
	for _, r := range sideResults {
		if r.err != "" || r.latency > callBound {
			t.Errorf("an instances query beside the storm: %s after %s", r.err, r.latency)
			break
		}
	}
	if len(healthErrors) > 0 || len(health) == 0 {
		t.Errorf("%d health checks, failures: %q", len(health), healthErrors)
	}
	if rss > rssBound {
		t.Errorf("peak RSS %d MiB, bound %d MiB", rss, rssBound)
	}
	if refused := analysesTotal(t, p, "refused_busy"); refused != len(s.busy) {
		t.Errorf("the plugin's metrics count %d refused analyses, the harness saw %d", refused, len(s.busy))
	}
	// Every storm call asks for its own analysis: the served ones computed one, the refused ones
	// computed nothing.
	if computed := analysesTotal(t, p, "computed"); computed != len(s.served) {
		t.Errorf("the plugin's metrics count %d computed analyses, the harness saw %d served", computed, len(s.served))
	}
	if !strings.Contains(metricsText(t, p), "gregg_insights_prometheus_slot_wait_seconds_count") {
		t.Errorf("the slot wait is not in the plugin's metrics")
	}
}
