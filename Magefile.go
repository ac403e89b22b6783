//go:build mage

// Magefile: the one build entry point of Gregg Insights (Grafana's convention for plugins).
//
// No global mage install is needed: run targets with `go run mage.go <target>`.
//
//	go run mage.go demo      build, start Prometheus + node_exporter on loopback, analyse this machine
//	go run mage.go test      every check and test (what CI runs)
//	go run mage.go build     backend binaries and frontend into dist/
//	go run mage.go package   dist/ as gregg-insights-app-<version>.zip
//	go run mage.go bench     performance figures of the built plugin
//	go run mage.go fuzz      every fuzz target for FUZZ_SECONDS (60) each: executions and crashes
//	go run mage.go load      100, 300, 1000 distinct analyses at once: served/busy, p50/p99, concurrency
//	go run mage.go soak      a steady request stream for SOAK_DURATION (10m): RSS every 30 s
//	go run mage.go -l        every target
package main

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magefile/mage/mg"
)

const (
	pluginID   = "gregg-insights-app"
	executable = "gpx_gregg_insights"
	distDir    = "dist"
	// The data source is nested in the app: Grafana runs its binary from its own folder.
	backendDir = "dist/datasource"
)

// Default target when none is given.
var Default = Build

// Build builds the backend and the frontend into dist/.
func Build() {
	mg.SerialDeps(Backend, Frontend)
}

// Backend builds the plugin for this host and every other Rust target whose standard library is
// installed, named the way Grafana looks for it: dist/datasource/gpx_gregg_insights_<os>_<arch>.
func Backend() error {
	if err := run("cargo", "build", "--release", "--locked", "--bins", "--workspace"); err != nil {
		return err
	}
	if err := os.MkdirAll(backendDir, 0o755); err != nil {
		return err
	}
	host := fmt.Sprintf("%s_%s", runtime.GOOS, runtime.GOARCH)
	if err := installBinary(cargoTarget("release", executable+exeSuffix(runtime.GOOS)), host, runtime.GOOS); err != nil {
		return err
	}
	targets, err := output("rustup", "target", "list", "--installed")
	if err != nil {
		fmt.Println("rustup not found: building for this host only")
		return nil
	}
	hostTriple := hostRustTriple()
	for _, triple := range strings.Fields(targets) {
		goos, goarch, known := grafanaPlatform(triple)
		if triple == hostTriple || !known {
			continue
		}
		fmt.Printf("cross-building %s (%s_%s)\n", triple, goos, goarch)
		if err := run("cargo", "build", "--release", "--locked", "--target", triple, "--bin", executable); err != nil {
			return fmt.Errorf("cross-build for %s failed (install its linker or remove the target): %w", triple, err)
		}
		built := cargoTarget(triple, "release", executable+exeSuffix(goos))
		if err := installBinary(built, goos+"_"+goarch, goos); err != nil {
			return err
		}
	}
	return nil
}

// Frontend installs the npm dependencies when needed and builds the app, data source, report panel
// and USE-matrix panel modules into dist/, printing each module's size.
func Frontend() error {
	if err := npmInstall(); err != nil {
		return err
	}
	if err := runIn("frontend", "npm", "run", "build"); err != nil {
		return err
	}
	for _, module := range []string{"module.js", "datasource/module.js", "panel/module.js", "matrix/module.js"} {
		info, err := os.Stat(filepath.Join(distDir, module))
		if err != nil {
			return fmt.Errorf("frontend build did not produce %s: %w", module, err)
		}
		fmt.Printf("  dist/%-22s %7d bytes\n", module, info.Size())
	}
	return nil
}

// Deps installs what the tests and the demo run: Debian's prometheus, prometheus-node-exporter,
// stress-ng (the live test loads the CPUs with it), chromium (the browser test) and
// victoria-metrics (the engine tests, tests/integration/engines.rs).
func Deps() error {
	missing := []string{}
	for bin, pkg := range map[string]string{
		"prometheus":               "prometheus",
		"promtool":                 "prometheus",
		"prometheus-node-exporter": "prometheus-node-exporter",
		"stress-ng":                "stress-ng",
		"chromium":                 "chromium",
		"victoria-metrics":         "victoria-metrics",
	} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return aptInstall(dedupe(missing)...)
}

// Lint checks that the fuzz targets are in step (fuzzTargets), then formatting and lints:
// cargo fmt, clippy, gofmt, go vet.
func Lint() error {
	if _, err := fuzzTargets(); err != nil {
		return err
	}
	if err := run("cargo", "fmt", "--all", "--check"); err != nil {
		return errors.New("Rust code is not formatted: run `cargo fmt --all`")
	}
	if err := run("cargo", "clippy", "--locked", "--workspace", "--all-targets", "--", "-D", "warnings"); err != nil {
		return err
	}
	unformatted, err := output("gofmt", "-l", "Magefile.go", "mage.go", "tests/conformance")
	if err != nil {
		return err
	}
	if strings.TrimSpace(unformatted) != "" {
		return fmt.Errorf("Go code is not formatted (run gofmt -w): %s", unformatted)
	}
	return runIn("tests/conformance", "go", "vet", "./...")
}

// Test runs every test: lints, Rust unit and integration tests against real Prometheus and
// node_exporter, the frontend's typecheck, lint and jest, and the Go conformance harness against
// the built plugin in dist/.
func Test() error {
	started := time.Now()
	mg.SerialDeps(Deps, Lint)
	steps := []struct {
		name string
		fn   func() error
	}{
		{"build (backend + frontend)", func() error { mg.SerialDeps(Build); return nil }},
		{"thanos (engine tests)", func() error { mg.SerialDeps(Thanos); return nil }},
		{"rust tests", func() error {
			bin, err := thanosBinary()
			if err != nil {
				return err
			}
			return runEnvIn(".", []string{"GREGG_THANOS=" + bin}, "cargo", "test", "--release", "--locked", "--workspace")
		}},
		{"mcp clients (Python MCP client over stdio and HTTP, AutoGen agent)", McpClients},
		{"frontend checks", func() error {
			for _, script := range []string{"typecheck", "lint", "format:check", "test:ci"} {
				if err := runIn("frontend", "npm", "run", script); err != nil {
					return err
				}
			}
			return nil
		}},
		{"go conformance harness", func() error {
			if err := faultHooksBinary(); err != nil {
				return err
			}
			env, err := harnessEnv()
			if err != nil {
				return err
			}
			return runEnvIn("tests/conformance", env, "go", "test", "-count=1", "-timeout", "10m", "./...")
		}},
		// The Go harness wrote the report frames of a scenario (TestReportFramesForTheBrowser)
		// and of a 1,000-host fleet (TestFleetFramesForTheBrowser); headless Chromium renders the
		// built panels and editors from them, with screenshots in frontend/test-output/.
		{"browser (built modules in headless Chromium)", func() error {
			return runIn("frontend", "npm", "run", "test:browser")
		}},
	}
	for _, step := range steps {
		fmt.Printf("\n==> %s\n", step.name)
		stepStart := time.Now()
		if err := step.fn(); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		fmt.Printf("==> %s: ok (%s)\n", step.name, time.Since(stepStart).Round(time.Second))
	}
	fmt.Printf("\nAll tests passed in %s.\n", time.Since(started).Round(time.Second))
	return nil
}

// thanosVersion is the Thanos the engine tests run: v0.39 and later need zenhack.net/go/util,
// which the Go module proxy refuses.
const thanosVersion = "v0.36.1"

// thanosBinary is where Thanos is cached between runs, outside the repository:
// ~/.cache/gregg-insights/thanos-v0.36.1/thanos.
func thanosBinary() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the thanos binary: %w", err)
	}
	return filepath.Join(cache, "gregg-insights", "thanos-"+thanosVersion, "thanos"), nil
}

// Thanos builds Thanos (sidecar and query, for tests/integration/engines.rs) from the Go module
// proxy through the tool module in tests/engines/thanos, which copies the `replace` block of
// Thanos' go.mod (`go install ...@version` ignores it and fails). Built once into
// ~/.cache/gregg-insights/thanos-v0.36.1/thanos and reused: about 3 minutes and a 108 MB binary
// with a warm module cache, nothing when cached.
func Thanos() error {
	bin, err := thanosBinary()
	if err != nil {
		return err
	}
	if info, err := os.Stat(bin); err == nil && info.Mode().IsRegular() && info.Size() > 0 {
		fmt.Printf("thanos %s: cached at %s\n", thanosVersion, bin)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	started := time.Now()
	// Build to a temporary name and rename: an interrupted build never leaves a broken cache.
	partial := bin + ".partial"
	if err := runIn(filepath.Join("tests", "engines", "thanos"), "go", "build", "-o", partial, "github.com/thanos-io/thanos/cmd/thanos"); err != nil {
		return fmt.Errorf("building thanos %s: %w", thanosVersion, err)
	}
	if err := os.Rename(partial, bin); err != nil {
		return err
	}
	fmt.Printf("thanos %s: built in %s at %s\n", thanosVersion, time.Since(started).Round(time.Second), bin)
	return nil
}

// McpClients tests `gregg-insights mcp` with the official Python MCP client (over stdio and
// streamable HTTP) and an AutoGen AgentChat agent (McpWorkbench, scripted model turns) against a
// scenario Prometheus: tests/mcp/mcp_clients.py. The clients' pinned versions
// (tests/mcp/requirements.txt; AutoGen, which needs mcp 1.x, in requirements-autogen.txt) are
// installed into two virtual environments under target/; the
// script exits non-zero on any failed assertion, which fails the step.
func McpClients() error {
	if err := run("cargo", "build", "--release", "--locked", "--bin", "gregg-insights", "-p", "gregg-insights", "--bin", "gregg-testenv", "-p", "gregg-testkit"); err != nil {
		return err
	}
	python, err := venv(cargoTarget("mcp-venv"), "requirements.txt")
	if err != nil {
		return err
	}
	autogen, err := venv(cargoTarget("autogen-venv"), "requirements-autogen.txt")
	if err != nil {
		return err
	}
	return run(python, filepath.Join("tests", "mcp", "mcp_clients.py"), "--bin", cargoTarget("release"), "--autogen-python", autogen)
}

// cargoTarget is a path under Cargo's target directory: CARGO_TARGET_DIR when set (cargo
// builds there, not in target/), else target/.
func cargoTarget(parts ...string) string {
	dir := os.Getenv("CARGO_TARGET_DIR")
	if dir == "" {
		dir = "target"
	}
	return filepath.Join(append([]string{dir}, parts...)...)
}

// venv creates a Python virtual environment at dir (once) with tests/mcp/<requirements>
// installed, and returns its python.
func venv(dir, requirements string) (string, error) {
	python := filepath.Join(dir, "bin", "python")
	if _, err := os.Stat(python); err != nil {
		if err := run("python3", "-m", "venv", dir); err != nil {
			return "", fmt.Errorf("creating %s (Debian: apt-get install python3-venv): %w", dir, err)
		}
	}
	if err := run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", filepath.Join("tests", "mcp", requirements)); err != nil {
		return "", err
	}
	return python, nil
}

// Demo builds the CLI, starts Prometheus and node_exporter on loopback (installing them where
// absent), prints the health check, records a 30 s baseline of this machine, then runs
// `stress-ng --switch 1` for 30 s so the analysed window differs from its baseline, and prints
// the analysis with every method (USE, workload against the baseline, drill-down, latency of
// Prometheus' own request-duration histogram against a 100 ms objective, outliers), and stops
// everything it started. About 70 s once built.
func Demo() error {
	mg.SerialDeps(Deps)
	if err := run("cargo", "build", "--release", "--locked", "--bin", "gregg-insights", "-p", "gregg-insights", "--bin", "gregg-testenv", "-p", "gregg-testkit"); err != nil {
		return err
	}
	fmt.Println("\nStarting node_exporter and Prometheus on loopback (scraping every second)...")
	env := exec.Command(cargoTarget("release", "gregg-testenv"), "live")
	env.Stderr = os.Stderr
	stdin, err := env.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := env.StdoutPipe()
	if err != nil {
		return err
	}
	if err := env.Start(); err != nil {
		return err
	}
	defer func() {
		_ = stdin.Close() // gregg-testenv stops both servers when its stdin closes
		_ = env.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the test environment did not start: %w", err)
	}
	var started struct {
		Prometheus   string `json:"prometheus"`
		NodeExporter string `json:"nodeExporter"`
	}
	if err := json.Unmarshal([]byte(line), &started); err != nil {
		return fmt.Errorf("unexpected test environment output %q: %w", line, err)
	}
	fmt.Printf("Prometheus %s scrapes node_exporter %s.\n\n", started.Prometheus, started.NodeExporter)
	cli := cargoTarget("release", "gregg-insights")
	// Health first: it reports what the analysis can and cannot see.
	if err := run(cli, "health", "--prometheus", started.Prometheus); err != nil {
		return err
	}
	fmt.Println("\nRecording a 30 s baseline of this machine...")
	time.Sleep(30 * time.Second)
	fmt.Println("Running stress-ng --switch 1 for the next 30 s (a workload change to characterise)...")
	stress := exec.Command("stress-ng", "--switch", "1", "--timeout", "32s", "--quiet")
	if err := stress.Start(); err != nil {
		fmt.Printf("stress-ng is not available (%v): the window will look like its baseline.\n", err)
		stress = nil
	}
	time.Sleep(30 * time.Second)
	fmt.Println()
	err = run(cli, "analyze", "--prometheus", started.Prometheus, "--window", "30s",
		"--histogram", "prometheus_http_request_duration_seconds", "--slo", "100ms@99")
	if stress != nil {
		_ = stress.Process.Kill()
		_ = stress.Wait()
	}
	return err
}

// Bench prints every performance figure in one run (nothing is asserted): the plugin's idle
// RSS and per-call latency through the Go harness, the frame encoding of 1,000 and 10,000
// insights (benches/frames.rs), and the fleet figures of BenchFleet. docs/performance.md
// explains each figure. About ten minutes.
func Bench() error {
	mg.SerialDeps(Deps, Build)
	env, err := harnessEnv()
	if err != nil {
		return err
	}
	fmt.Println("\n==> plugin: idle RSS, CheckHealth and use_summary latency (Go harness, 50 calls)")
	if err := runEnvIn("tests/conformance", env, "go", "test", "-run", "^$", "-bench", "^Benchmark(IdleRSS|CheckHealth|UseSummary)$", "-benchtime", "50x", "-count", "1", "./..."); err != nil {
		return err
	}
	fmt.Println("\n==> frame encoding of insights (cargo bench --bench frames)")
	if err := run("cargo", "bench", "--locked", "--bench", "frames"); err != nil {
		return err
	}
	fmt.Println("\n==> fleets")
	return BenchFleet()
}

// BenchFleet prints the analyzer's fleet-scale figures: synthetic fleets of 100, 1,000 and
// 10,000 hosts backfilled into a local Prometheus; per fleet the analysis wall time through the
// CLI and through the plugin (Go harness), the same PromQL sent straight to Prometheus at once,
// their ratio, the slowest single query, queries and samples fetched, peak RSS and the cached
// repeat. About eight minutes. Set GREGG_BENCH_HOSTS (e.g. 1000) for other sizes.
func BenchFleet() error {
	mg.SerialDeps(Deps, Build)
	if err := run("cargo", "build", "--release", "--locked", "--bin", "gregg-insights", "-p", "gregg-insights", "--bin", "gregg-bench", "-p", "gregg-testkit"); err != nil {
		return err
	}
	env, err := harnessEnv()
	if err != nil {
		return err
	}
	hosts := os.Getenv("GREGG_BENCH_HOSTS")
	if hosts == "" {
		hosts = "100,1000,10000"
	}
	return runEnvIn(".", env, cargoTarget("release", "gregg-bench"), "--hosts", hosts, "--cli", cargoTarget("release", "gregg-insights"), "--harness", filepath.Join("tests", "conformance"))
}

// Provisioning regenerates provisioning/dashboards/use-method.json and
// provisioning/alerting/gregg-insights.json with grafana-foundation-sdk (tests/conformance/provision);
// a conformance test fails when the committed files differ from what it builds.
func Provisioning() error {
	return runIn("tests/conformance", "go", "run", "./cmd/provisioning", filepath.Join("..", "..", "provisioning"))
}

// fuzzTargets lists the cargo-fuzz targets, one per kind of outside input: the files
// fuzz/fuzz_targets/<name>.rs. Adding a target is its file plus its [[bin]] entry in
// fuzz/Cargo.toml, a seed corpus in fuzz/corpus/<name>/ and a row in fuzz/README.md's table;
// it fails, naming what is missing, when any of these is out of step (Lint runs it).
func fuzzTargets() ([]string, error) {
	files, err := filepath.Glob(filepath.Join("fuzz", "fuzz_targets", "*.rs"))
	if err != nil {
		return nil, err
	}
	targets := []string{}
	for _, file := range files {
		targets = append(targets, strings.TrimSuffix(filepath.Base(file), ".rs"))
	}
	sort.Strings(targets)
	manifest, err := os.ReadFile(filepath.Join("fuzz", "Cargo.toml"))
	if err != nil {
		return nil, err
	}
	bins := cargoBins(string(manifest))
	readme, err := os.ReadFile(filepath.Join("fuzz", "README.md"))
	if err != nil {
		return nil, err
	}
	problems := []string{}
	if len(targets) == 0 {
		problems = append(problems, "no fuzz/fuzz_targets/*.rs")
	}
	for _, target := range targets {
		want := "fuzz_targets/" + target + ".rs"
		if path, ok := bins[target]; !ok {
			problems = append(problems, fmt.Sprintf("%s: no [[bin]] entry in fuzz/Cargo.toml (name = %q, path = %q)", target, target, want))
		} else if path != want {
			problems = append(problems, fmt.Sprintf("%s: its [[bin]] path is %q, not %q", target, path, want))
		}
		if countFiles(filepath.Join("fuzz", "corpus", target)) == 0 {
			problems = append(problems, fmt.Sprintf("%s: no seed corpus in fuzz/corpus/%s/", target, target))
		}
		if !strings.Contains(string(readme), "| `"+target+"` |") {
			problems = append(problems, fmt.Sprintf("%s: no row in fuzz/README.md's table", target))
		}
	}
	for name, path := range bins {
		if _, err := os.Stat(filepath.Join("fuzz", filepath.FromSlash(path))); err != nil {
			problems = append(problems, fmt.Sprintf("[[bin]] %s in fuzz/Cargo.toml: %s does not exist", name, path))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("fuzz targets out of step:\n  %s", strings.Join(problems, "\n  "))
	}
	return targets, nil
}

// cargoBins reads the name and path of every [[bin]] table of a Cargo manifest (the simple
// `key = "value"` lines cargo-fuzz writes).
func cargoBins(manifest string) map[string]string {
	bins := map[string]string{}
	inBin := false
	name, path := "", ""
	flush := func() {
		if inBin && name != "" {
			bins[name] = path
		}
		name, path = "", ""
	}
	line := regexp.MustCompile(`^\s*(name|path)\s*=\s*"([^"]*)"`)
	for _, l := range strings.Split(manifest, "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "[") {
			flush()
			inBin = trimmed == "[[bin]]"
			continue
		}
		if m := line.FindStringSubmatch(l); inBin && m != nil {
			if m[1] == "name" {
				name = m[2]
			} else {
				path = m[2]
			}
		}
	}
	flush()
	return bins
}

// Fuzz runs every fuzz target for FUZZ_SECONDS (default 60) with cargo-fuzz (libFuzzer, no
// sanitizer: the code is safe Rust, so the fuzzer hunts panics, and RUSTC_BOOTSTRAP lets
// cargo-fuzz's flags work on the stable toolchain), and prints executions and crashes per
// target. Each starts from its seed corpus in fuzz/corpus/<target>/ (read-only) plus a working
// corpus kept in fuzz/target/corpus/<target>/. Crashes land in fuzz/artifacts/<target>/;
// each must be fixed and become a regression test. FUZZ_TARGETS (comma-separated) selects.
func Fuzz() error {
	seconds := 60
	if v := os.Getenv("FUZZ_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("FUZZ_SECONDS must be a positive number of seconds, got %q", v)
		}
		seconds = n
	}
	targets, err := fuzzTargets()
	if err != nil {
		return err
	}
	if v := os.Getenv("FUZZ_TARGETS"); v != "" {
		selected := strings.Split(v, ",")
		for _, target := range selected {
			if !slices.Contains(targets, target) {
				return fmt.Errorf("FUZZ_TARGETS: no fuzz target %q; the targets are %s", target, strings.Join(targets, ", "))
			}
		}
		targets = selected
	}
	if _, err := output("cargo", "fuzz", "--version"); err != nil {
		if err := run("cargo", "install", "cargo-fuzz", "--locked"); err != nil {
			return err
		}
	}
	env := []string{"RUSTC_BOOTSTRAP=1"}
	if err := runEnvIn(".", env, "cargo", "fuzz", "build", "-s", "none"); err != nil {
		return err
	}
	type result struct {
		target            string
		executions, speed int
		crashes, corpus   int
		err               error
	}
	results := []result{}
	for _, target := range targets {
		work := filepath.Join("fuzz", "target", "corpus", target)
		logs := filepath.Join("fuzz", "target", "logs")
		artifacts := filepath.Join("fuzz", "artifacts", target)
		for _, dir := range []string{work, logs, artifacts} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		before := countFiles(artifacts)
		logPath := filepath.Join(logs, target+".log")
		logFile, err := os.Create(logPath)
		if err != nil {
			return err
		}
		fmt.Printf("+ fuzzing %s for %d s (log: %s)\n", target, seconds, logPath)
		cmd := exec.Command("cargo", "fuzz", "run", "-s", "none", target, work, filepath.Join("fuzz", "corpus", target),
			"--", fmt.Sprintf("-max_total_time=%d", seconds), "-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048")
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		runErr := cmd.Run()
		_ = logFile.Close()
		log, _ := os.ReadFile(logPath)
		r := result{target: target, crashes: countFiles(artifacts) - before, corpus: countFiles(work)}
		if m := regexp.MustCompile(`stat::number_of_executed_units:\s*(\d+)`).FindSubmatch(log); m != nil {
			r.executions, _ = strconv.Atoi(string(m[1]))
		}
		if m := regexp.MustCompile(`stat::average_exec_per_sec:\s*(\d+)`).FindSubmatch(log); m != nil {
			r.speed, _ = strconv.Atoi(string(m[1]))
		}
		if runErr != nil {
			r.err = runErr
			if r.crashes == 0 {
				r.crashes = 1 // a crash libFuzzer could not write, or the build failed
			}
		}
		results = append(results, r)
	}
	fmt.Printf("\n%-22s %8s %14s %10s %8s %8s\n", "target", "seconds", "executions", "exec/s", "crashes", "corpus")
	crashed := []string{}
	for _, r := range results {
		fmt.Printf("%-22s %8d %14d %10d %8d %8d\n", r.target, seconds, r.executions, r.speed, r.crashes, r.corpus)
		if r.crashes > 0 {
			crashed = append(crashed, fmt.Sprintf("%s (fuzz/artifacts/%s/, log fuzz/target/logs/%s.log)", r.target, r.target, r.target))
		}
	}
	if len(crashed) > 0 {
		return fmt.Errorf("crashes found: %s; fix each and turn it into a regression test", strings.Join(crashed, ", "))
	}
	return nil
}

// countFiles counts the regular files in dir (0 when it does not exist).
func countFiles(dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if e.Type().IsRegular() {
			n++
		}
	}
	return n
}

// harnessEnv points the Go harness at the built plugin and test environment binaries.
func harnessEnv() ([]string, error) {
	plugin, err := filepath.Abs(filepath.Join(backendDir, fmt.Sprintf("%s_%s_%s", executable, runtime.GOOS, runtime.GOARCH)))
	if err != nil {
		return nil, err
	}
	testenv, err := filepath.Abs(cargoTarget("release", "gregg-testenv"))
	if err != nil {
		return nil, err
	}
	faultHooks, err := filepath.Abs(cargoTarget("release", executable+"_fault_hooks"))
	if err != nil {
		return nil, err
	}
	return []string{"GREGG_PLUGIN_BINARY=" + plugin, "GREGG_TESTENV=" + testenv, "GREGG_FAULT_PLUGIN_BINARY=" + faultHooks}, nil
}

// faultHooksBinary builds target/release/gpx_gregg_insights_fault_hooks: the plugin with the
// test-only `fault-hooks` feature (a deliberate panic in one query) for the Go harness. It is
// never copied to dist/.
func faultHooksBinary() error {
	return run("cargo", "build", "--release", "--locked", "--features", "fault-hooks", "--bin", executable+"_fault_hooks")
}

// Load prints the plugin's figures under load, through the Go harness: for each of
// LOAD_CONCURRENCY (100,300,1000), that many distinct analyses at once (insights, report,
// use_matrix, each over its own window) against a backfilled fleet of LOAD_HOSTS (200) hosts:
// served and refused as busy with p50/p99 latency of each, Prometheus requests and the most in
// flight at once (a counting proxy) against maxConcurrentQueries (LOAD_BOUND, 8). Fails on an
// error other than busy or on concurrency past the bound.
func Load() error {
	mg.SerialDeps(Deps, Backend)
	return harnessRun("60m", "^TestLoad$")
}

// Soak runs a steady stream of every query type for SOAK_DURATION (10m) with SOAK_WORKERS (4)
// clients against a fleet of SOAK_HOSTS (50), printing the plugin's RSS every SOAK_INTERVAL
// (30s) and its growth after the warm-up (SOAK_WARMUP, 3m). Fails on errors or growth of 5 %
// or more.
func Soak() error {
	mg.SerialDeps(Deps, Backend)
	timeout := 40 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("SOAK_DURATION")); err == nil {
		timeout = d + 30*time.Minute
	}
	return harnessRun(timeout.String(), "^TestSoak$")
}

// harnessRun runs one figure-printing test of the Go harness (build tag `load`), verbosely.
func harnessRun(timeout, pattern string) error {
	env, err := harnessEnv()
	if err != nil {
		return err
	}
	return runEnvIn("tests/conformance", env, "go", "test", "-tags", "load", "-count=1", "-v",
		"-timeout", timeout, "-run", pattern, ".")
}

// Package builds everything and zips dist/ as gregg-insights-app-<version>.zip, one folder named
// after the plugin id.
func Package() error {
	mg.SerialDeps(Build)
	version, err := version()
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s.zip", pluginID, version)
	file, err := os.Create(name)
	if err != nil {
		return err
	}
	defer file.Close()
	archive := zip.NewWriter(file)
	count := 0
	err = filepath.WalkDir(distDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(distDir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		header, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		header.Name = filepath.ToSlash(filepath.Join(pluginID, rel))
		header.Method = zip.Deflate
		w, err := archive.CreateHeader(header) // keeps the 0755 of the binaries
		if err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		count++
		return err
	})
	if err != nil {
		return err
	}
	if err := archive.Close(); err != nil {
		return err
	}
	info, err := file.Stat()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d files, %d bytes\n", name, count, info.Size())
	return nil
}

// Clean removes dist/ and the package zips (target/ stays warm: Rust builds are slow).
func Clean() error {
	if err := os.RemoveAll(distDir); err != nil {
		return err
	}
	zips, _ := filepath.Glob(pluginID + "-*.zip")
	for _, z := range zips {
		if err := os.Remove(z); err != nil {
			return err
		}
	}
	return nil
}

// version is the crate's version, which the frontend's package.json must match.
func version() (string, error) {
	cargo, err := os.ReadFile("Cargo.toml")
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^version = "([^"]+)"`).FindSubmatch(cargo)
	if m == nil {
		return "", errors.New("no version in Cargo.toml")
	}
	var pkg struct {
		Version string `json:"version"`
	}
	raw, err := os.ReadFile("frontend/package.json")
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return "", err
	}
	if pkg.Version != string(m[1]) {
		return "", fmt.Errorf("Cargo.toml says %s but frontend/package.json says %s", m[1], pkg.Version)
	}
	return pkg.Version, nil
}

func installBinary(built, platform, goos string) error {
	dest := filepath.Join(backendDir, fmt.Sprintf("%s_%s%s", executable, platform, exeSuffix(goos)))
	data, err := os.ReadFile(built)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dest, data, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dest, 0o755); err != nil {
		return err
	}
	fmt.Printf("  %s (%d bytes)\n", dest, len(data))
	return nil
}

// grafanaPlatform maps a Rust target triple to Grafana's <os>_<arch> naming.
func grafanaPlatform(triple string) (string, string, bool) {
	known := map[string][2]string{
		"x86_64-unknown-linux-gnu":      {"linux", "amd64"},
		"x86_64-unknown-linux-musl":     {"linux", "amd64"},
		"aarch64-unknown-linux-gnu":     {"linux", "arm64"},
		"aarch64-unknown-linux-musl":    {"linux", "arm64"},
		"armv7-unknown-linux-gnueabihf": {"linux", "arm"},
		"x86_64-apple-darwin":           {"darwin", "amd64"},
		"aarch64-apple-darwin":          {"darwin", "arm64"},
		"x86_64-pc-windows-gnu":         {"windows", "amd64"},
		"x86_64-pc-windows-msvc":        {"windows", "amd64"},
	}
	p, ok := known[triple]
	return p[0], p[1], ok
}

func hostRustTriple() string {
	out, err := output("rustc", "-vV")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "host: ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "host: "))
		}
	}
	return ""
}

func exeSuffix(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

// npmInstall runs `npm ci` when node_modules is missing or older than the lockfile.
func npmInstall() error {
	lock, err := os.Stat("frontend/package-lock.json")
	if err != nil {
		return fmt.Errorf("frontend/package-lock.json: %w", err)
	}
	if marker, err := os.Stat("frontend/node_modules/.package-lock.json"); err == nil && !marker.ModTime().Before(lock.ModTime()) {
		return nil
	}
	return runIn("frontend", "npm", "ci", "--no-audit", "--no-fund")
}

func aptInstall(packages ...string) error {
	fmt.Printf("installing %s with apt-get\n", strings.Join(packages, " "))
	prefix := []string{}
	if os.Geteuid() != 0 {
		prefix = []string{"sudo", "-n"}
	}
	update := append(append([]string{}, prefix...), "apt-get", "update", "-qq")
	if err := runEnvIn(".", []string{"DEBIAN_FRONTEND=noninteractive"}, update[0], update[1:]...); err != nil {
		return err
	}
	install := append(append([]string{}, prefix...), "apt-get", "install", "-y", "-qq", "--no-install-recommends")
	install = append(install, packages...)
	return runEnvIn(".", []string{"DEBIAN_FRONTEND=noninteractive"}, install[0], install[1:]...)
}

func dedupe(items []string) []string {
	out := []string{}
	for i, item := range items {
		if i == 0 || item != items[i-1] {
			out = append(out, item)
		}
	}
	return out
}

func run(name string, args ...string) error { return runEnvIn(".", nil, name, args...) }

func runIn(dir, name string, args ...string) error { return runEnvIn(dir, nil, name, args...) }

func runEnvIn(dir string, env []string, name string, args ...string) error {
	fmt.Printf("+ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
