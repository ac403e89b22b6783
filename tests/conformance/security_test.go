package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"golang.org/x/crypto/bcrypt"
)

// responseText is everything a data response shows: its error and its frames as JSON.
func responseText(t testing.TB, r backend.DataResponse) string {
	t.Helper()
	var b strings.Builder
	if r.Error != nil {
		b.WriteString(r.Error.Error())
	}
	for _, f := range r.Frames {
		raw, err := json.Marshal(f)
		if err != nil {
			t.Fatalf("frame to JSON: %v", err)
		}
		b.Write(raw)
	}
	return b.String()
}

// A real Prometheus serving TLS (a certificate from a CA generated here) and requiring basic
// auth (--web.config.file). TLS verification is on by default, a custom CA works, a wrong one
// fails clearly, skip-verify works; wrong or missing credentials fail clearly with HTTP 401.
// Prometheus' web config has no bearer tokens, so bearer auth is checked against a small
// reverse proxy in front of the same Prometheus that requires `Authorization: Bearer <token>`.
func TestTLSAndAuthAgainstARealPrometheus(t *testing.T) {
	p := startPlugin(t)
	live := startEnv(t, "live")
	ca, otherCA := newCA(t, "Gregg Insights test CA"), newCA(t, "Some other CA")
	dir := t.TempDir()
	certFile, keyFile := ca.issue(t, "prometheus", false).writeFiles(t, dir, "server")
	const user, password = "alice", "right-horse-battery"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, promOptions{
		nodeTargets: []string{live.NodeExporter},
		webConfig: fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: '%s'\n",
			certFile, keyFile, user, hash),
		caPEM: ca.certPEM, basicUser: user, basicPW: password,
	})
	if !strings.HasPrefix(prom.URL(), "https://") {
		t.Fatalf("Prometheus is not serving TLS: %s", prom.URL())
	}

	// Bearer: the proxy checks the token, then talks to Prometheus with TLS and basic auth.
	const token = "bearer-token-0c1d"
	upstream, _ := url.Parse(prom.URL())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.certPEM)
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	bearer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("Unauthorized: bearer token required"))
			return
		}
		r.SetBasicAuth(user, password)
		rp.ServeHTTP(w, r)
	}))
	defer bearer.Close()

	basic := func(url string, jsonData map[string]any, secure map[string]string, pw string) *backend.DataSourceInstanceSettings {
		ds := settings(url, jsonData, secure)
		ds.BasicAuthEnabled, ds.BasicAuthUser = true, user
		if ds.DecryptedSecureJSONData == nil {
			ds.DecryptedSecureJSONData = map[string]string{}
		}
		ds.DecryptedSecureJSONData["basicAuthPassword"] = pw
		return ds
	}
	withCA := func(pem []byte) (map[string]any, map[string]string) {
		return map[string]any{"tlsAuthWithCACert": true}, map[string]string{"tlsCACert": string(pem)}
	}
	jd, sec := withCA(ca.certPEM)
	good := basic(prom.URL(), jd, sec, password)
	p.waitForOneInstance(t, good, "through TLS + basic auth with the right CA")
	if h := p.checkHealth(t, good); h.Status != backend.HealthStatusOk {
		t.Errorf("health with the right CA and password: %s", h.Message)
	}

	jdWrong, secWrong := withCA(otherCA.certPEM)
	cases := []struct {
		name   string
		ds     *backend.DataSourceInstanceSettings
		ok     bool
		want   []string
		health string
	}{
		{"default verification", basic(prom.URL(), nil, nil, password), false, []string{"TLS connection to " + prom.URL() + " failed", "certificate"}, "TLS failed"},
		{"custom CA", good, true, nil, ""},
		{"wrong CA", basic(prom.URL(), jdWrong, secWrong, password), false, []string{"TLS connection to " + prom.URL() + " failed", "certificate"}, "TLS failed"},
		{"skip verify", basic(prom.URL(), map[string]any{"tlsSkipVerify": true}, nil, password), true, nil, ""},
		{"wrong password", basic(prom.URL(), jd, sec, "wrong-password-7e2"), false, []string{"HTTP 401", "Check the basic auth user and password"}, "refused the credentials"},
		{"no credentials", settings(prom.URL(), jd, sec), false, []string{"HTTP 401"}, "refused the credentials"},
		{"bearer token", settings(bearer.URL, nil, map[string]string{"bearerToken": token}), true, nil, ""},
		{"wrong bearer token", settings(bearer.URL, nil, map[string]string{"bearerToken": "nope-token-4f4"}), false, []string{"HTTP 401", "bearer token required"}, "refused the credentials"},
		{"no bearer token", settings(bearer.URL, nil, nil), false, []string{"HTTP 401"}, "refused the credentials"},
	}
	for _, c := range cases {
		r := p.askInstances(t, c.ds)
		text := responseText(t, r)
		if c.ok {
			if r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Rows() != 1 {
				t.Errorf("%s: want the instance, got %v", c.name, r.Error)
			}
			if h := p.checkHealth(t, c.ds); h.Status != backend.HealthStatusOk {
				t.Errorf("%s: health %s", c.name, h.Message)
			}
			continue
		}
		if r.Error == nil {
			t.Errorf("%s: must fail", c.name)
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(text, want) {
				t.Errorf("%s: error lacks %q: %s", c.name, want, text)
			}
		}
		if r.Status != backend.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", c.name, r.Status)
		}
		h := p.checkHealth(t, c.ds)
		if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, c.health) {
			t.Errorf("%s: health %v %q, want an error saying %q", c.name, h.Status, h.Message, c.health)
		}
		assertNoSecret(t, c.name, text+h.Message+string(h.JSONDetails), password, "wrong-password-7e2", token, "nope-token-4f4")
	}
	assertNoSecret(t, "plugin logs", p.logs.String(), password, "wrong-password-7e2", token, "nope-token-4f4")
}

// Every secret field set to a distinct canary, every service exercised (health, successful
// and failing queries, every resource route, metrics), against a proxy that even echoes the
// request headers into its error page: no canary may appear in a frame, an error, a health
// message, a resource body, the metrics or the plugin's log (at trace level).
func TestSecretsNeverLeak(t *testing.T) {
	p := startPluginWith(t, pluginBinary(t), []string{"GF_PLUGIN_GREGG_INSIGHTS_LOG_LEVEL=trace"})
	e := startEnv(t, "scenario", "cpu_mixed")
	fp := startFaultProxy(t, e.Prometheus, faultMarker)
	at := time.Unix(e.Scenario.At, 0)

	client := newCA(t, "client CA").issue(t, "grafana", true)
	keyBody := strings.Join(strings.Split(strings.TrimSpace(string(client.keyPEM)), "\n")[1:2], "")
	const (
		basicPW    = "canary-basic-pw-1d9b"
		bearer     = "canary-bearer-2e8c"
		headerVal  = "canary-header-3f7a"
		urlPW      = "canary-url-pw-4a6e"
		badKeyBody = "canary-bad-key-5b4d"
		grafanaTok = "canary-grafana-token-6c1e"
	)
	basicToken := base64.StdEncoding.EncodeToString([]byte("alice:" + basicPW))
	canaries := []string{basicPW, bearer, headerVal, urlPW, badKeyBody, keyBody, basicToken, grafanaTok}

	withBasic := settings(fp.URL(), map[string]any{"httpHeaderName1": "X-Scope-OrgID", "tlsAuth": true},
		map[string]string{"basicAuthPassword": basicPW, "httpHeaderValue1": headerVal,
			"tlsClientCert": string(client.certPEM), "tlsClientKey": string(client.keyPEM)})
	withBasic.BasicAuthEnabled, withBasic.BasicAuthUser = true, "alice"
	// The Grafana API for dashboard analysis is the same misbehaving server: its token must
	// not leak either.
	withBearer := settings(fp.URL(), map[string]any{"grafanaUrl": fp.URL()},
		map[string]string{"bearerToken": bearer, "grafanaToken": grafanaTok})
	withURLCreds := settings(strings.Replace(fp.URL(), "http://", "http://alice:"+urlPW+"@", 1), nil, nil)
	badKey := settings(fp.URL(), map[string]any{"tlsAuth": true}, map[string]string{
		"tlsClientCert": string(client.certPEM),
		"tlsClientKey":  "-----BEGIN PRIVATE KEY-----\n" + badKeyBody + "\n-----END PRIVATE KEY-----\n"})

	var shown strings.Builder
	exercise := func(name string, ds *backend.DataSourceInstanceSettings) {
		h := p.checkHealth(t, ds)
		fmt.Fprintf(&shown, "%s health: %s %s\n", name, h.Message, h.JSONDetails)
		resp := p.query(t, ds,
			query("A", "use_summary", at, nil),
			query("B", "report", at, map[string]any{"window": "5m"}),
			markedCheck("C", at),
			query("D", "promql_check", at, map[string]any{"expr": "rate(", "warning": 1, "critical": 2}),
			query("E", "instances", at, map[string]any{"instances": "busy.*"}),
			query("F", "dashboard", at, map[string]any{"dashboardUid": "incident"}),
		)
		for ref, r := range resp.Responses {
			fmt.Fprintf(&shown, "%s %s: %s\n", name, ref, responseText(t, r))
		}
		for _, path := range []string{"checks", "instances", "report?format=json&window=5m", "report?format=markdown&window=5m",
			"report?format=text&window=5m", "coverage?window=5m", "nope", "report?format=pdf", "report?instances=a(b",
			"dashboards", "dashboards/incident/analysis"} {
			status, body := p.callResource(t, ds, "GET", path)
			fmt.Fprintf(&shown, "%s GET %s: %d %s\n", name, path, status, body)
		}
		status, body := p.callResource(t, ds, "POST", "checks")
		fmt.Fprintf(&shown, "%s POST checks: %d %s\n", name, status, body)
	}
	for _, f := range []fault{faultPromError, faultEchoHeaders} {
		fp.set(f, false)
		exercise("basic+header+client cert/"+string(f), withBasic)
		exercise("bearer/"+string(f), withBearer)
		exercise("url credentials/"+string(f), withURLCreds)
		exercise("invalid client key/"+string(f), badKey)
	}
	// Every request fails and echoes its headers: health, queries and resources all quote it.
	fp.set(faultEchoHeaders, true)
	exercise("basic, echoed everywhere", withBasic)
	exercise("bearer, echoed everywhere", withBearer)
	exercise("url credentials, echoed everywhere", withURLCreds)
	fp.set(faultNone, false)

	metrics, err := p.diagnostics.CollectMetrics(context.Background(), &pluginv2.CollectMetricsRequest{
		PluginContext: &pluginv2.PluginContext{PluginId: pluginID},
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&shown, "metrics: %s\n", metrics.Metrics.Prometheus)

	// The credentials did reach the server: the canaries were exercised, not ignored.
	for _, sent := range []string{"Basic " + basicToken, "Bearer " + bearer, "Bearer " + grafanaTok, headerVal, "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+urlPW))} {
		if !fp.sawHeader(sent) {
			t.Errorf("the server never received %q", sent)
		}
	}
	// And the echo did happen (so its redaction is what is being tested).
	if !strings.Contains(shown.String(), "debug proxy error") {
		t.Errorf("no echoed error page reached the plugin's messages")
	}
	if !strings.Contains(shown.String(), "<redacted>") {
		t.Errorf("echoed credentials were not redacted:\n%.3000s", shown.String())
	}
	assertNoSecret(t, "frames, errors, health, resources and metrics", shown.String(), canaries...)
	assertNoSecret(t, "the plugin's log (trace level)", p.logs.String(), canaries...)
	if !strings.Contains(p.logs.String(), `"@level":"trace"`) && !strings.Contains(p.logs.String(), `"@level":"debug"`) {
		t.Errorf("the log is not at trace level: the test would miss debug-only leaks")
	}
}

// Instance filters and variable values with quotes, `"}`, `or vector(1)`, regex metacharacters
// and newlines stay inside the matcher: against a real Prometheus, no extra series appear.
func TestInstanceFiltersCannotInjectPromQL(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	hostile := []string{
		`busy-1:9100"} or vector(1) #`,
		`.*"} or vector(1) or up{x="`,
		`busy-1:9100"}) or (vector(1)`,
		"busy-1:9100\"\n} or vector(1)",
		`busy-1:9100\"} or vector(1)`,
		`\"} or on() vector(1) #`,
		`busy-1:9100` + "`" + ` or vector(1)`,
		`(busy|warm)-1:9100`,
		`.*`,
		`busy-1:9100|idle-1:9100`,
		`[`,
		`busy-1:9100\`,
		"idle-1:9100\n",
		`$__all`,
		`{busy-1:9100,warm-1:9100}`,
	}
	for _, value := range hostile {
		expected := map[string]bool{}
		re, reErr := regexp.Compile("^(?:" + value + ")$")
		if reErr == nil {
			for _, h := range e.Scenario.Hosts {
				if re.MatchString(h.Instance) {
					expected[h.Instance] = true
				}
			}
		}
		resp := p.query(t, ds,
			query("A", "use_summary", at, map[string]any{"instances": value}),
			query("B", "instances", at, map[string]any{"instances": value}),
			query("C", "insights", at, map[string]any{"instances": value, "window": "5m"}),
		)
		for _, ref := range []string{"A", "B", "C"} {
			r := resp.Responses[ref]
			if r.Error != nil {
				// Refusing is safe (the plugin checks RE2 syntax more strictly than Go, which
				// reads a stray `{` literally), but it must be a 400 naming the field.
				if !strings.Contains(r.Error.Error(), "`instances`") || r.Status != backend.StatusBadRequest {
					t.Errorf("%q %s: %v", value, ref, r.Error)
				}
				continue
			}
			if reErr != nil {
				t.Errorf("%q %s: an invalid regex was accepted", value, ref)
			}
			for _, f := range r.Frames {
				field, _ := f.FieldByName("instance")
				if field == nil {
					continue
				}
				for i := 0; i < field.Len(); i++ {
					inst := fmt.Sprint(field.At(i))
					if !expected[inst] {
						t.Errorf("%q %s: row for %q, which the filter does not select (injection)", value, ref, inst)
					}
				}
				if ref != "C" && field.Len() != len(expected) {
					t.Errorf("%q %s: %d rows, want %d", value, ref, field.Len(), len(expected))
				}
			}
		}
	}
	// The data source's target selector is parsed, never pasted: an injection is refused.
	for _, selector := range []string{`job="node"} or vector(1) #`, `job="node",} or up{`, "job=\"node\"\n or vector(1)"} {
		bad := settings(e.Prometheus, map[string]any{"targetSelector": selector}, nil)
		r := p.query(t, bad, query("A", "use_summary", at, nil)).Responses["A"]
		if r.Error == nil || !strings.Contains(r.Error.Error(), "jsonData.targetSelector") {
			t.Errorf("targetSelector %q: want an error naming the field, got %v", selector, r.Error)
		}
	}
}

// Resource paths, however encoded, stay in their routes.
func TestResourcePathsCannotEscapeTheirRoutes(t *testing.T) {
	p := startPlugin(t)
	ds := settings("http://127.0.0.1:1", nil, nil)
	for _, path := range []string{
		"../checks", "checks/../../etc/passwd", "%2e%2e/checks", "..%2fchecks", "checks%2f..%2f..%2fetc%2fpasswd",
		"/etc/passwd", "//evil.example/checks", "http://evil.example/checks",
		"checks%00", "checks;/../instances", "..\\checks", "instances/../../../proc/self/environ",
		"report/../../../../etc/passwd", "%252e%252e/checks",
	} {
		status, body := p.callResource(t, ds, "GET", path)
		if status == 200 {
			t.Errorf("GET %q escaped to a route: %.200s", path, body)
		}
		if status != 404 && status != 400 {
			t.Errorf("GET %q: status %d, want 404 or 400: %.200s", path, status, body)
		}
		if strings.Contains(string(body), "root:") || strings.Contains(string(body), "PATH=") {
			t.Errorf("GET %q returned a file: %.200s", path, body)
		}
	}
}

// Two Grafana organisations may each hold a data source of the same uid (one provisioning file
// applied to both), saved at the same moment, pointing at different Prometheus servers. Each
// org is answered from its own: org 2's Prometheus is down, so its health check, an analysis
// org 1 has just cached and a query needing only the client must all fail naming org 2's
// server, never be answered with org 1's client or analysis; org 1 still gets its own after.
// (The scenario's data is in the past, so org 1's health is "no node_exporter data now".)
func TestTwoOrgsWithOneDataSourceUidNeverShareAnswers(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "cpu_mixed")
	at := time.Unix(e.Scenario.At, 0)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "org two's Prometheus is down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	orgOne := settings(e.Prometheus, nil, nil)
	orgTwo := *orgOne
	orgTwo.URL = down.URL
	inOrg := func(org int64, ds *backend.DataSourceInstanceSettings) backend.PluginContext {
		return backend.PluginContext{OrgID: org, PluginID: pluginID, DataSourceInstanceSettings: ds}
	}
	ask := func(org int64, ds *backend.DataSourceInstanceSettings) *backend.QueryDataResponse {
		return p.queryRaw(t, backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{
			PluginContext: inOrg(org, ds),
			Queries:       []backend.DataQuery{query("A", "insights", at, nil), query("B", "instances", at, nil)},
		}))
	}
	health := func(org int64, ds *backend.DataSourceInstanceSettings) *backend.CheckHealthResult {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		resp, err := p.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{
			PluginContext: backend.ToProto().PluginContext(inOrg(org, ds)),
		})
		if err != nil {
			t.Fatalf("CheckHealth: %v", err)
		}
		return backend.FromProto().CheckHealthResponse(resp)
	}

	one := ask(1, orgOne)
	for _, ref := range []string{"A", "B"} {
		if r := one.Responses[ref]; r.Error != nil || len(r.Frames) == 0 {
			t.Fatalf("org 1, %s: %v (%d frames)", ref, r.Error, len(r.Frames))
		}
	}
	downHost := strings.TrimPrefix(down.URL, "http://")
	if h := health(1, orgOne); strings.Contains(h.Message, downHost) || strings.Contains(h.Message, "503") {
		t.Errorf("org 1's health names org 2's server: %s", h.Message)
	}
	if h := health(2, &orgTwo); h.Status == backend.HealthStatusOk || !strings.Contains(h.Message, "503") {
		t.Errorf("org 2's health does not report its own Prometheus' 503: %s %s", h.Status, h.Message)
	}
	two := ask(2, &orgTwo)
	for _, ref := range []string{"A", "B"} {
		r := two.Responses[ref]
		if r.Error == nil {
			t.Errorf("org 2, %s: answered (%d frames) although its Prometheus is down: org 1's answer", ref, len(r.Frames))
		} else if !strings.Contains(r.Error.Error(), "503") || !strings.Contains(r.Error.Error(), downHost) {
			t.Errorf("org 2, %s: the error does not name its own Prometheus and its 503: %v", ref, r.Error)
		}
	}
	again := ask(1, orgOne)
	if r := again.Responses["A"]; r.Error != nil {
		t.Errorf("org 1 after org 2: %v", r.Error)
	}
}
