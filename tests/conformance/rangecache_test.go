package conformance

// Work shared across overlapping windows (issue 16): range answers fetched for a 1 h analysis
// answer a 30 m one with the same end, by slicing, exactly as Prometheus would have.

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// windowQueries are the panels compared: the insights table and the USE matrix over `window`.
func windowQueries(at time.Time, window string) []backend.DataQuery {
	return []backend.DataQuery{
		query("A", "insights", at, map[string]any{"window": window}),
		query("B", "use_matrix", at, map[string]any{"window": window}),
	}
}

// framesJSON is each refId's frames as Grafana would read them, failing on an error.
func framesJSON(t *testing.T, resp *backend.QueryDataResponse) map[string]string {
	t.Helper()
	out := map[string]string{}
	for ref, r := range resp.Responses {
		if r.Error != nil {
			t.Fatalf("query %s failed: %v", ref, r.Error)
		}
		raw, err := json.Marshal(r.Frames)
		if err != nil {
			t.Fatalf("frames of %s: %v", ref, err)
		}
		out[ref] = string(raw)
	}
	return out
}

func TestAShorterWindowWithTheSameEndReusesTheRangeAnswers(t *testing.T) {
	e := startEnv(t, "scenario", "cpu_mixed")
	at := time.Unix(e.Scenario.At, 0)
	fp := startFaultProxy(t, e.Prometheus, "")
	p := startPlugin(t)
	ds := settings(fp.URL(), nil, nil)

	began := time.Now()
	p.query(t, ds, windowQueries(at, "1h")...)
	hour, hourRanges := time.Since(began), fp.ranges.Load()
	if hourRanges == 0 {
		t.Fatalf("the 1 h analysis sent no range query")
	}

	before, beforeAll := fp.ranges.Load(), fp.requests.Load()
	began = time.Now()
	warm := framesJSON(t, p.query(t, ds, windowQueries(at, "30m")...))
	warmTook := time.Since(began)
	warmRanges, warmAll := fp.ranges.Load()-before, fp.requests.Load()-beforeAll
	if warmRanges != 0 {
		t.Errorf("the 30 m analysis after the 1 h one sent %d range queries, want 0 (all within the 1 h answers)", warmRanges)
	}
	hits := metricSum(t, p, `gregg_insights_range_cache_lookups_total{outcome="hit"}`)
	if hits == 0 {
		t.Errorf("the plugin's metrics count no range cache hit")
	}
	if held := metricSum(t, p, "gregg_insights_range_cache_samples"); held <= 0 || held > 2e6 {
		t.Errorf("the range cache holds %v samples (want some, at most 2 M)", held)
	}

	// The same 30 m analysis on a fresh plugin asks Prometheus for everything.
	cold := startPlugin(t)
	before, beforeAll = fp.ranges.Load(), fp.requests.Load()
	began = time.Now()
	want := framesJSON(t, cold.query(t, settings(fp.URL(), nil, nil), windowQueries(at, "30m")...))
	coldTook := time.Since(began)
	coldRanges, coldAll := fp.ranges.Load()-before, fp.requests.Load()-beforeAll
	if coldRanges == 0 {
		t.Fatalf("the cold 30 m analysis sent no range query: nothing was there to share")
	}
	for ref, frames := range want {
		if warm[ref] != frames {
			t.Errorf("query %s: the frames from shared range answers differ from a cold analysis'\nshared: %.600s\ncold:   %.600s", ref, warm[ref], frames)
		}
	}
	t.Logf("1 h analysis %s (%d range queries); 30 m after it %s (%d range, %d requests in all); cold 30 m %s (%d range, %d in all)",
		hour.Round(time.Millisecond), hourRanges, warmTook.Round(time.Millisecond), warmRanges, warmAll,
		coldTook.Round(time.Millisecond), coldRanges, coldAll)
}
