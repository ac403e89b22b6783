//go:build load

package conformance

// Load and soak figures through the real plugin protocol: `go run mage.go load` and
// `go run mage.go soak` (build tag `load`, never part of `go run mage.go test`). They print
// figures; they fail only on errors, on Prometheus concurrency past the configured bound, or
// on soak memory growth past 5 %.

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func envInt(name string, fallback int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return fallback
}

func envDuration(name string, fallback time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return fallback
}

// fleetSetup starts a backfilled fleet, a counting proxy in front of its Prometheus and the
// plugin; returns the data source with its concurrency bound.
func fleetSetup(t *testing.T, hosts, bound int) (*plugin, *faultProxy, *backend.DataSourceInstanceSettings, time.Time) {
	started := time.Now()
	e := startEnv(t, "fleet", strconv.Itoa(hosts))
	fmt.Printf("fleet of %d hosts backfilled and served in %s\n", e.FleetHosts, time.Since(started).Round(time.Second))
	fp := startFaultProxy(t, e.Prometheus, "")
	p := startPlugin(t)
	ds := settings(fp.URL(), map[string]any{"maxConcurrentQueries": bound, "timeout": 120}, nil)
	return p, fp, ds, time.Unix(e.FleetAt, 0)
}

// TestLoad: for each of LOAD_CONCURRENCY (100,300,1000), that many distinct analyses sent at
// once (insights, report, use_matrix, each over its own window) against a fleet of LOAD_HOSTS
// (200) hosts: served and refused as busy, latencies of each, Prometheus requests and the most
// in flight at once against maxConcurrentQueries (LOAD_BOUND, 8). Fails on an error other than
// busy or on concurrency past the bound.
func TestLoad(t *testing.T) {
	hosts, bound := envInt("LOAD_HOSTS", 200), envInt("LOAD_BOUND", 8)
	levels := []int{100, 300, 1000}
	if v := os.Getenv("LOAD_CONCURRENCY"); v != "" {
		levels = nil
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				levels = append(levels, n)
			}
		}
	}
	p, fp, ds, at := fleetSetup(t, hosts, bound)
	fmt.Printf("\nLOAD  distinct analyses at once (insights/report/use_matrix), fleet of %d hosts, maxConcurrentQueries=%d\n", hosts, bound)
	fmt.Printf("  %6s %8s %8s %12s %12s %12s %12s %8s %10s %9s %8s\n", "at once", "served", "busy", "served p50", "served p99", "busy p50", "busy p99", "other", "wall", "requests", "in flight")
	for round, n := range levels {
		fp.resetMax()
		before := fp.requests.Load()
		// A fresh time bucket per round, so no round is served from the previous one's cache.
		roundAt := at.Add(time.Duration(round) * time.Minute)
		began := time.Now()
		s := summarise(storm(p, ds, n, roundAt, 10*time.Minute))
		wall := time.Since(began)
		fmt.Printf("  %6d %8d %8d %12s %12s %12s %12s %8d %10s %9d %8d\n", n, len(s.served), len(s.busy),
			percentile(s.served, 0.5).Round(time.Millisecond), percentile(s.served, 0.99).Round(time.Millisecond),
			percentile(s.busy, 0.5).Round(time.Millisecond), percentile(s.busy, 0.99).Round(time.Millisecond),
			len(s.other), wall.Round(time.Millisecond), fp.requests.Load()-before, fp.maxInFlight.Load())
		for _, e := range s.otherErrors {
			fmt.Printf("    error: %.300s\n", e)
		}
		if len(s.other) > 0 {
			t.Errorf("%d of %d: %d requests failed other than busy", n, n, len(s.other))
		}
		if fp.maxInFlight.Load() > int64(bound) {
			t.Errorf("Prometheus saw %d requests at once, past the bound of %d", fp.maxInFlight.Load(), bound)
		}
		time.Sleep(2 * time.Second) // let the previous round's refused callers and caches settle
	}
	fmt.Printf("  plugin peak RSS %d MiB; analyses computed %d, shared %d, refused busy %d\n", procStatusKiB(t, p.pid(), "VmHWM")/1024,
		analysesTotal(t, p, "computed"), analysesTotal(t, p, "shared"), analysesTotal(t, p, "refused_busy"))
}

// TestSoak: a steady stream of requests for SOAK_DURATION (10m), the plugin's RSS printed
// every SOAK_INTERVAL (30s). Growth after the warm-up (SOAK_WARMUP, 3m: the allocator and the
// caches settle) must stay under 5 %: the median of the three samples from the warm-up's end
// against the median of the last three samples of the run (a single sample is noisy).
func TestSoak(t *testing.T) {
	duration, interval := envDuration("SOAK_DURATION", 10*time.Minute), envDuration("SOAK_INTERVAL", 30*time.Second)
	workers, hosts, bound := envInt("SOAK_WORKERS", 4), envInt("SOAK_HOSTS", 50), envInt("LOAD_BOUND", 8)
	p, fp, ds, at := fleetSetup(t, hosts, bound)
	pid := p.pid()

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var served, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += workers {
				// Every query type, rotating windows: cache hits and misses, all frame builders.
				types := []string{"insights", "report", "use_matrix", "use_summary", "alert", "severity_timeline", "annotations", "instances"}
				q := query("A", types[i%len(types)], at, map[string]any{"window": fmt.Sprintf("%dm", 5+i%30)})
				req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{PluginContext: pluginContext(ds), Queries: []backend.DataQuery{q}})
				rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
				resp, err := p.data.QueryData(rctx, req)
				rcancel()
				if err == nil {
					var decoded *backend.QueryDataResponse
					if decoded, err = backend.FromProto().QueryDataResponse(resp); err == nil && decoded.Responses["A"].Error != nil {
						err = decoded.Responses["A"].Error
					}
				}
				if err != nil {
					failed.Add(1)
				} else {
					served.Add(1)
				}
			}
		}(w)
	}
	warmUp := envDuration("SOAK_WARMUP", 3*time.Minute)
	if warmUp >= duration {
		warmUp = duration / 3
	}
	fmt.Printf("\nSOAK  %s, %d workers, fleet of %d hosts; RSS every %s (warm-up %s)\n", duration, workers, hosts, interval, warmUp)
	fmt.Printf("  %8s %10s %10s %10s %8s\n", "elapsed", "RSS MiB", "HWM MiB", "requests", "errors")
	began := time.Now()
	var afterWarmUp []float64 // samples taken after the warm-up, in order
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	sample := func() {
		rss := float64(procStatusKiB(t, pid, "VmRSS")) / 1024
		hwm := float64(procStatusKiB(t, pid, "VmHWM")) / 1024
		elapsed := time.Since(began)
		fmt.Printf("  %8s %10.1f %10.1f %10d %8d\n", elapsed.Round(time.Second), rss, hwm, served.Load(), failed.Load())
		if elapsed >= warmUp {
			afterWarmUp = append(afterWarmUp, rss)
		}
	}
	sample()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
			sample()
		}
	}
	wg.Wait()
	median3 := func(xs []float64) float64 {
		if len(xs) > 3 {
			xs = xs[:3]
		}
		sorted := append([]float64(nil), xs...)
		sort.Float64s(sorted)
		return sorted[len(sorted)/2]
	}
	if len(afterWarmUp) < 2 {
		t.Fatalf("too few samples after the warm-up (%d): lengthen SOAK_DURATION", len(afterWarmUp))
	}
	start := median3(afterWarmUp)
	tail := afterWarmUp[max(0, len(afterWarmUp)-3):]
	end := median3(tail)
	growth := (end - start) / start * 100
	fmt.Printf("  RSS after the %s warm-up %.1f MiB, at the end %.1f MiB (medians of 3 samples): growth %.1f %%\n", warmUp, start, end, growth)
	fmt.Printf("  %d requests, %d errors, Prometheus max in flight %d (bound %d)\n", served.Load(), failed.Load(), fp.maxInFlight.Load(), bound)
	if failed.Load() > 0 {
		t.Errorf("%d requests failed", failed.Load())
	}
	if growth >= 5 {
		t.Errorf("RSS grew %.1f %% after the warm-up (limit 5 %%)", growth)
	}
}
