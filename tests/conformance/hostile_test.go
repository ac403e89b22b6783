package conformance

// Hostile but well-formed input (issue 16): each refused for its own refId or resource call
// with a clear message, never a panic, a reset stream or a reply that echoes megabytes.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A window longer than time itself used to panic in the time grid (the resource route reset
// the gRPC stream); now it is a 400 naming the field and the longest window accepted.
func TestAnAbsurdWindowIsRefusedNotAPanic(t *testing.T) {
	p := startPlugin(t)
	dead := settings("http://127.0.0.1:1", nil, nil)
	for _, window := range []string{"99999999999d", "367d", "99999y"} {
		status, body := p.callResource(t, dead, "GET", "report?window="+window)
		if status != 400 || !strings.Contains(string(body), "`window`") || !strings.Contains(string(body), "too long: at most 366d") {
			t.Errorf("report?window=%s: %d %s, want 400 naming `window` and its maximum", window, status, body)
		}
		resp := p.query(t, dead, query("A", "insights", time.Now(), map[string]any{"window": window}))
		if err := resp.Responses["A"].Error; err == nil || !strings.Contains(err.Error(), "too long") {
			t.Errorf("insights with window %s: %v, want the window refused", window, err)
		}
		if window == "367d" {
			continue // a dashboard's range may be longer than an analysis window
		}
		status, body = p.callResource(t, dead, "GET", "dashboards/x/analysis?window="+window)
		if status != 400 || !strings.Contains(string(body), "`window`") {
			t.Errorf("dashboards/x/analysis?window=%s: %d %s, want 400 naming `window`", window, status, body)
		}
	}
	if logs := p.logs.String(); strings.Contains(logs, "panicked") {
		t.Errorf("a panic was logged:\n%s", logs)
	}
}

// hostileInstance is the testkit's HOSTILE_INSTANCE (tests/testkit/src/scenarios.rs).
const hostileInstance = "evil\x1b]0;pwned\x07\x1b[31m<img src=x onerror=alert(1)>[click](javascript:alert(1))\n# HEADING `tick`:9100"

var codeSpan = regexp.MustCompile("`[^`]*`")

// Label values from a real Prometheus reach every output as data: no terminal control in the
// text report, no HTML, link, heading or broken code span in Markdown, and the frames carry
// the value exactly as Prometheus has it.
func TestHostileLabelValuesAreDataNotMarkup(t *testing.T) {
	e := startEnv(t, "scenario", "hostile_labels")
	p := startPlugin(t)
	ds := settings(e.Prometheus, nil, nil)
	at := fmt.Sprint(e.Scenario.At)
	for _, format := range []string{"text", "markdown"} {
		status, body := p.callResource(t, ds, "GET", "report?format="+format+"&window=10m&at="+at)
		report := string(body)
		if status != 200 || !strings.Contains(report, "pwned") {
			t.Fatalf("report %s: %d %.500s", format, status, report)
		}
		for _, bad := range []string{"\x1b", "\x07", "\x9b"} {
			if strings.Contains(report, bad) {
				t.Errorf("the %s report carries %q from a label value:\n%s", format, bad, report)
			}
		}
		if format != "markdown" {
			continue
		}
		for _, line := range strings.Split(report, "\n") {
			if strings.HasPrefix(line, "# HEADING") {
				t.Errorf("a label value started a Markdown heading: %q", line)
			}
			// Inside a code span everything is literal; outside, nothing may be markup.
			if strings.Count(line, "`")%2 != 0 {
				t.Errorf("a code span is broken by the label value: %q", line)
			}
			prose := codeSpan.ReplaceAllString(line, "")
			for _, bad := range []string{"<img", "[click](javascript:"} {
				if strings.Contains(prose, bad) {
					t.Errorf("the Markdown report carries %q as markup: %q", bad, line)
				}
			}
		}
	}
	resp := p.query(t, ds, query("A", "insights", time.Unix(e.Scenario.At, 0), map[string]any{"window": "10m"}))
	r := resp.Responses["A"]
	if r.Error != nil || len(r.Frames) != 1 {
		t.Fatalf("insights: %v", r.Error)
	}
	field, _ := r.Frames[0].FieldByName("instance")
	found := false
	for i := 0; field != nil && i < field.Len(); i++ {
		if v, ok := field.ConcreteAt(i); ok && v == hostileInstance {
			found = true
		}
	}
	if !found {
		t.Errorf("no insight carries the instance label exactly as Prometheus has it")
	}
}

// A megabyte-long regex (and any other oversized field) fails its own refId at once with a
// short message naming the field; the request's other queries are answered; no log line or
// error echoes the input.
func TestOversizedInputFailsItsRefIDShortAndFast(t *testing.T) {
	e := startEnv(t, "scenario", "cpu_mixed")
	p := startPlugin(t)
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	regex := strings.Repeat("host-0001.example.com:9100|", 3_500_000/27)
	began := time.Now()
	resp := p.query(t, ds,
		query("A", "insights", at, map[string]any{"instances": regex}),
		query("B", "insights", at, map[string]any{"groupBy": strings.Repeat("x", 1<<20)}),
		query("C", "instances", at, nil))
	elapsed := time.Since(began)
	for ref, field := range map[string]string{"A": "`instances`", "B": "`groupBy`"} {
		err := resp.Responses[ref].Error
		if err == nil || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), "at most 16384") {
			t.Errorf("%s: %v, want the field named and its limit", ref, err)
		} else if len(err.Error()) > 300 {
			t.Errorf("%s: the error is %d bytes long: it echoes the input", ref, len(err.Error()))
		}
	}
	if err := resp.Responses["C"].Error; err != nil {
		t.Errorf("the request's other query failed: %v", err)
	}
	if elapsed > 10*time.Second {
		t.Errorf("refusing oversized input took %s", elapsed)
	}
	status, body := p.callResource(t, ds, "GET", "report?instances="+strings.Repeat("a-", 20_000))
	if status != 400 || len(body) > 300 || !strings.Contains(string(body), "`instances`") {
		t.Errorf("report with a long regex: %d, %d bytes: %.300s", status, len(body), body)
	}
	for _, line := range strings.Split(p.logs.String(), "\n") {
		if len(line) > 4096 {
			t.Errorf("a log line of %d bytes echoes the input: %.200s", len(line), line)
			break
		}
	}
}

// Framing and routing headers are refused as custom headers, by name, before anything is sent.
func TestFramingHeadersAreRefusedAsCustomHeaders(t *testing.T) {
	p := startPlugin(t)
	for _, name := range []string{"Host", "Content-Length", "Transfer-Encoding", "Connection"} {
		ds := settings("http://127.0.0.1:1", map[string]any{"httpHeaderName1": name}, map[string]string{"httpHeaderValue1": "v-SECRET"})
		err := p.askInstances(t, ds).Error
		if err == nil || !strings.Contains(err.Error(), "httpHeaderName1") || !strings.Contains(err.Error(), "`"+name+"` cannot be a custom header") {
			t.Errorf("custom header %s: %v, want it refused by name", name, err)
		}
		health := p.checkHealth(t, ds)
		if !strings.Contains(health.Message, "cannot be a custom header") {
			t.Errorf("health with custom header %s: %s", name, health.Message)
		}
	}
	assertNoSecret(t, "plugin logs", p.logs.String(), "v-SECRET")
}
