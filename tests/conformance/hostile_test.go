package conformance

// Hostile but well-formed input (issue 16): each refused for its own refId or resource call
// with a clear message, never a panic, a reset stream or a reply that echoes megabytes.

import (
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
