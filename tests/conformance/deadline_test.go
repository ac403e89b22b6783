package conformance

// Deadlines end to end (issue 16): Grafana's request deadline stops the analysis and the
// Prometheus requests it would still send, the answer says "deadline exceeded" (not a
// Prometheus failure), and the memory and places the cancelled work held come back.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

const (
	// deadlineBudget is the context deadline of every call here, as Grafana's would be.
	deadlineBudget = 2 * time.Second
	// deadlineBound: every call is back by then (the plugin answers just before the deadline).
	deadlineBound = deadlineBudget + 500*time.Millisecond
	// deadlineGrace: requests already on their way when the deadline passed are let go by then.
	deadlineGrace = 500 * time.Millisecond
	// deadlineQuiet is how long the proxy is watched for requests that should not come: more
	// than two slowDelays, so a run still going would have sent its next requests.
	deadlineQuiet = 4 * time.Second
)

// queryWithin sends one request with `budget` as its context deadline.
func (p *plugin) queryWithin(ds *backend.DataSourceInstanceSettings, budget time.Duration, q backend.DataQuery) (*backend.QueryDataResponse, time.Duration, error) {
	req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
		PluginContext: pluginContext(ds),
		Queries:       []backend.DataQuery{q},
	})
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	began := time.Now()
	resp, err := p.data.QueryData(ctx, req)
	elapsed := time.Since(began)
	if err != nil {
		return nil, elapsed, err
	}
	decoded, err := backend.FromProto().QueryDataResponse(resp)
	return decoded, elapsed, err
}

// resourceWithin performs one resource call with `budget` as its context deadline.
func (p *plugin) resourceWithin(ds *backend.DataSourceInstanceSettings, budget time.Duration, path string) (int, string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	began := time.Now()
	stream, err := p.resource.CallResource(ctx, backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{
		PluginContext: pluginContext(ds), Path: path, Method: "GET", URL: path,
	}))
	if err != nil {
		return 0, "", time.Since(began), err
	}
	status, body := 0, ""
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return status, body, time.Since(began), nil
		}
		if err != nil {
			return status, body, time.Since(began), err
		}
		if status == 0 {
			status = int(msg.Code)
		}
		body += string(msg.Body)
	}
}

// assertNoRequestsAfter waits out the grace, then fails if the proxy still holds a request of
// the plugin's or sees a new one within deadlineQuiet. Returns the requests seen in all.
func assertNoRequestsAfter(t *testing.T, fp *faultProxy, what string) int64 {
	t.Helper()
	time.Sleep(deadlineGrace)
	settled := fp.requests.Load()
	if held := fp.delayed.Load() + fp.inFlight.Load(); held != 0 {
		t.Errorf("%s: %d Prometheus requests still open %s after the deadline", what, held, deadlineGrace)
	}
	time.Sleep(deadlineQuiet)
	if later := fp.requests.Load() - settled; later != 0 {
		t.Errorf("%s: %d Prometheus requests started more than %s after the deadline", what, later, deadlineGrace)
	}
	return settled
}

// assertDeadlineMessage fails unless `msg` is the plugin's deadline answer.
func assertDeadlineMessage(t *testing.T, what, msg string) {
	t.Helper()
	if !strings.Contains(msg, "deadline exceeded: Grafana's deadline for this request") || !strings.Contains(msg, "not a Prometheus failure") {
		t.Errorf("%s: not the plugin's deadline answer: %.300s", what, msg)
	}
	if strings.Contains(msg, "did not answer") || strings.Contains(msg, "cannot reach") {
		t.Errorf("%s: the deadline is blamed on Prometheus: %.300s", what, msg)
	}
}

// slowRangeQueries starts the cpu_mixed scenario behind a fault proxy that holds every range
// query (its form has `step=`) slowDelay, and a plugin whose data source points at the proxy:
// an analysis needs many range queries in turn, so it cannot finish within a short deadline,
// while health checks and instance lists, which send none, answer at once.
func slowRangeQueries(t *testing.T) (*faultProxy, *plugin, time.Time, *backend.DataSourceInstanceSettings) {
	e := startEnv(t, "scenario", "cpu_mixed")
	fp := startFaultProxy(t, e.Prometheus, "step=")
	fp.set(faultSlow, false)
	p := startPlugin(t)
	ds := settings(fp.URL(), map[string]any{"timeout": 30}, nil)
	return fp, p, time.Unix(e.Scenario.At, 0), ds
}

func TestDeadlineStopsTheAnalysisAndItsPrometheusRequests(t *testing.T) {
	const (
		cancelled   = 50
		rssSlackMiB = 8 // over idle, after the cancelled work is gone
	)
	fp, p, at, ds := slowRangeQueries(t)
	p.checkHealth(t, ds)
	idle := procStatusKiB(t, p.pid(), "VmRSS")

	// One analysis, as one panel asks for it.
	resp, elapsed, err := p.queryWithin(ds, deadlineBudget, query("A", "insights", at, map[string]any{"window": "1h"}))
	if err != nil {
		t.Fatalf("QueryData failed as a whole after %s (the plugin must answer before the deadline): %v", elapsed, err)
	}
	if elapsed > deadlineBound {
		t.Errorf("QueryData returned after %s (bound %s)", elapsed, deadlineBound)
	}
	answer := resp.Responses["A"]
	if answer.Error == nil {
		t.Fatalf("the analysis finished within the deadline; the slow proxy did not slow it")
	}
	assertDeadlineMessage(t, "QueryData", answer.Error.Error())
	if answer.Status != backend.StatusTimeout {
		t.Errorf("status %d, want 504", answer.Status)
	}
	if fp.broken.Load() == 0 {
		t.Fatalf("the analysis sent no range query through the slow proxy")
	}
	assertNoRequestsAfter(t, fp, "one analysis")
	p.assertAlive(t, "a deadline")
	if n := analysesTotal(t, p, "cancelled"); n != 1 {
		t.Errorf("the plugin counts %d cancelled analyses, want 1", n)
	}

	// The report resource, with the same deadline.
	status, body, elapsed, err := p.resourceWithin(ds, deadlineBudget, "report?format=json&window=30m")
	if err != nil {
		t.Fatalf("CallResource failed as a whole after %s: %v", elapsed, err)
	}
	if status != 504 || elapsed > deadlineBound {
		t.Errorf("the report answered %d after %s (want 504 within %s): %.300s", status, elapsed, deadlineBound, body)
	}
	assertDeadlineMessage(t, "CallResource", body)
	assertNoRequestsAfter(t, fp, "the report")

	// Many at once: each is cancelled (running or queued for admission) or refused as busy.
	results := storm(p, ds, cancelled, at, deadlineBudget)
	stopped := 0
	for i, r := range results {
		switch {
		case strings.HasPrefix(r.err, "deadline exceeded"):
			stopped++
		case strings.Contains(r.err, "busy: "):
		default:
			t.Errorf("analysis %d: %q after %s", i, r.err, r.latency)
		}
		if r.latency > deadlineBound {
			t.Errorf("analysis %d returned after %s (bound %s)", i, r.latency, deadlineBound)
		}
	}
	if stopped == 0 {
		t.Errorf("none of %d analyses was stopped at its deadline", cancelled)
	}
	assertNoRequestsAfter(t, fp, fmt.Sprintf("%d analyses", cancelled))
	p.assertAlive(t, fmt.Sprintf("%d deadlines", cancelled))
	rss := procStatusKiB(t, p.pid(), "VmRSS")
	peak := procStatusKiB(t, p.pid(), "VmHWM")
	fmt.Printf("DEADLINE %d analyses at once, %d stopped at %s: plugin RSS idle %d KiB, after %d KiB, peak %d KiB\n",
		cancelled, stopped, deadlineBudget, idle, rss, peak)
	if rss > idle+rssSlackMiB*1024 {
		t.Errorf("RSS %d KiB after the cancelled analyses, idle was %d KiB (slack %d MiB)", rss, idle, rssSlackMiB)
	}

	// The plugin still answers at once: a health check, and (the slow proxy gone) an analysis,
	// which would be queued or refused if the cancelled ones still held their places.
	began := time.Now()
	hctx, cancel := context.WithTimeout(context.Background(), deadlineBudget)
	health, err := p.diagnostics.CheckHealth(hctx, &pluginv2.CheckHealthRequest{
		PluginContext: backend.ToProto().PluginContext(pluginContext(ds)),
	})
	cancel()
	// The scenario's data is in the past, so the verdict may be "no data now"; what matters
	// is that Prometheus was reached at once.
	if err != nil || !strings.Contains(health.GetMessage(), " is up") {
		t.Errorf("health check after the deadlines: %v %q", err, health.GetMessage())
	} else if took := time.Since(began); took > deadlineBudget/2 {
		t.Errorf("health check took %s after the deadlines", took)
	}
	fp.set(faultNone, false)
	after := p.query(t, ds, query("A", "insights", at, map[string]any{"window": "5m"}))
	if r := after.Responses["A"]; r.Error != nil || len(r.Frames) == 0 {
		t.Errorf("an analysis after the deadlines: %v", r.Error)
	}
}

func TestADeadlineStopsOnlyTheQueriesStillRunning(t *testing.T) {
	// The instances query sends no range query, so only the analysis is held.
	_, p, at, ds := slowRangeQueries(t)
	req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
		PluginContext: pluginContext(ds),
		Queries: []backend.DataQuery{
			query("A", "instances", at, nil),
			query("B", "insights", at, map[string]any{"window": "1h"}),
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), deadlineBudget)
	defer cancel()
	began := time.Now()
	raw, err := p.data.QueryData(ctx, req)
	elapsed := time.Since(began)
	if err != nil {
		t.Fatalf("QueryData failed as a whole after %s: %v", elapsed, err)
	}
	resp, err := backend.FromProto().QueryDataResponse(raw)
	if err != nil {
		t.Fatalf("Grafana's decoder rejected the response: %v", err)
	}
	if elapsed > deadlineBound {
		t.Errorf("QueryData returned after %s (bound %s)", elapsed, deadlineBound)
	}
	finished := resp.Responses["A"]
	if finished.Error != nil || len(finished.Frames) == 0 || finished.Frames[0].Rows() == 0 {
		t.Errorf("the query that finished lost its answer: error %v, %d frames", finished.Error, len(finished.Frames))
	}
	stopped := resp.Responses["B"]
	if stopped.Error == nil {
		t.Fatalf("the slow analysis finished within the deadline; the slow proxy did not slow it")
	}
	assertDeadlineMessage(t, "the unfinished query", stopped.Error.Error())
	if stopped.Status != backend.StatusTimeout {
		t.Errorf("the unfinished query's status is %d, want 504", stopped.Status)
	}
}
