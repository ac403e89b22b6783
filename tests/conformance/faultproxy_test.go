package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fault is what the broken server does with a request it decides to break.
type fault string

const (
	faultNone        fault = ""             // forward to the real Prometheus
	faultHang        fault = "hang"         // read the request, never answer (slower than any timeout)
	faultTrickle     fault = "trickle"      // headers, then one byte every 200 ms, forever
	faultStatus5xx   fault = "5xx"          // 503 with an HTML error page
	faultPromError   fault = "prom-4xx"     // 400 with Prometheus' error JSON
	faultInvalidJSON fault = "invalid-json" // 200, application/json, not JSON
	faultTruncated   fault = "truncated"    // promise 10 kB, send 100 bytes, hang up
	faultEndless     fault = "endless"      // a valid-looking matrix streamed forever (past any size limit)
	faultContentType fault = "content-type" // 200 with an HTML login page
	faultClose       fault = "close"        // accept, then close the connection without a word
	faultEchoHeaders fault = "echo-headers" // 500 whose body echoes every request header (a debug proxy)
	faultSlow        fault = "slow"         // forward to the real Prometheus after slowDelay
	promErrorText          = "parse error: gregg fault marker rejected by Prometheus"
)

// slowDelay is how long faultSlow holds a request before forwarding it.
const slowDelay = 1500 * time.Millisecond

// faultProxy stands between the plugin and a real Prometheus: it forwards every request, except
// that it breaks those containing `marker` (or all of them when `always` is set) with the
// current fault. It counts requests in flight to the upstream and their maximum.
type faultProxy struct {
	server   *httptest.Server
	upstream *url.URL
	proxy    *httputil.ReverseProxy
	marker   string

	mu     sync.Mutex
	fault  fault
	always bool

	// Every Authorization and X-Scope-OrgID value received (proves credentials were sent).
	seen sync.Map

	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	requests    atomic.Int64
	ranges      atomic.Int64 // requests to /api/v1/query_range
	broken      atomic.Int64
	// Requests faultSlow is holding right now (the client has not hung up on them).
	delayed atomic.Int64
}

// startFaultProxy forwards to `upstream` (a Prometheus URL); `marker` selects requests to break.
func startFaultProxy(t testing.TB, upstream, marker string) *faultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{upstream: u, marker: marker, proxy: httputil.NewSingleHostReverseProxy(u)}
	fp.proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 512, ResponseHeaderTimeout: 5 * time.Minute}
	fp.server = httptest.NewServer(http.HandlerFunc(fp.serve))
	t.Cleanup(fp.server.Close)
	return fp
}

func (fp *faultProxy) URL() string { return fp.server.URL }

// set makes the proxy break requests with `f`: all of them with `always`, else the marked ones.
func (fp *faultProxy) set(f fault, always bool) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.fault, fp.always = f, always
}

// sawHeader reports whether any request carried this Authorization or X-Scope-OrgID value.
func (fp *faultProxy) sawHeader(value string) bool {
	_, ok := fp.seen.Load(value)
	return ok
}

// resetMax starts a new measurement of the maximum concurrency.
func (fp *faultProxy) resetMax() { fp.maxInFlight.Store(fp.inFlight.Load()) }

func (fp *faultProxy) serve(w http.ResponseWriter, r *http.Request) {
	fp.requests.Add(1)
	if strings.HasSuffix(r.URL.Path, "/query_range") {
		fp.ranges.Add(1)
	}
	for _, h := range []string{"Authorization", "X-Scope-Orgid"} {
		if v := r.Header.Get(h); v != "" {
			fp.seen.Store(v, true)
		}
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	fp.mu.Lock()
	f, always := fp.fault, fp.always
	fp.mu.Unlock()
	marked := fp.marker != "" && (strings.Contains(r.URL.RawQuery, fp.marker) || bytes.Contains(body, []byte(fp.marker)))
	if f == faultSlow && (always || marked) {
		fp.broken.Add(1)
		if !fp.hold(r) {
			return
		}
		f = faultNone
	}
	if f == faultNone || !(always || marked) {
		n := fp.inFlight.Add(1)
		for {
			m := fp.maxInFlight.Load()
			if n <= m || fp.maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		defer fp.inFlight.Add(-1)
		fp.proxy.ServeHTTP(w, r)
		return
	}
	fp.broken.Add(1)
	breakRequest(w, r, f)
}

// hold keeps `r` for slowDelay; false when its client hung up meanwhile.
func (fp *faultProxy) hold(r *http.Request) bool {
	fp.delayed.Add(1)
	defer fp.delayed.Add(-1)
	select {
	case <-r.Context().Done():
		return false
	case <-time.After(slowDelay):
		return true
	}
}

// breakRequest answers `r` with fault `f`.
func breakRequest(w http.ResponseWriter, r *http.Request, f fault) {
	done := r.Context().Done()
	switch f {
	case faultHang:
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
		}
	case faultTrickle:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		flusher, _ := w.(http.Flusher)
		payload := []byte(`{"status":"success","data":{"resultType":"vector","result":[` + strings.Repeat(" ", 100000))
		for i := 0; i < len(payload); i++ {
			if _, err := w.Write(payload[i : i+1]); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	case faultStatus5xx:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><body><h1>503 Service Unavailable</h1>upstream overloaded</body></html>"))
	case faultPromError:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":%q}`, promErrorText)
	case faultInvalidJSON:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{}, "value": [1, "2"]}, nope`))
	case faultTruncated:
		hijack(w, func(conn net.Conn) {
			_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n"))
			_, _ = conn.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"a"},"value":[1,"2"]}`))
		})
	case faultEndless:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[`))
		series := []byte(`{"metric":{"__name__":"node_cpu_seconds_total","instance":"endless:9100","cpu":"0","mode":"idle"},"values":[[1,"1"],[2,"2"],[3,"3"],[4,"4"]]},`)
		chunk := bytes.Repeat(series, 512)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			select {
			case <-done:
				return
			default:
			}
		}
	case faultContentType:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><body><form>Sign in to continue</form></body></html>"))
	case faultClose:
		hijack(w, func(net.Conn) {})
	case faultEchoHeaders:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, "debug proxy error; request was %s %s\n", r.Method, r.URL.String())
		for name, values := range r.Header {
			_, _ = fmt.Fprintf(w, "%s: %s\n", name, strings.Join(values, ","))
		}
	}
}

// hijack takes the raw connection, runs `f` on it and closes it.
func hijack(w http.ResponseWriter, f func(net.Conn)) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	f(conn)
	_ = conn.Close()
}
