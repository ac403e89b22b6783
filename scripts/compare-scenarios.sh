#!/usr/bin/env bash
# Compare what two builds of the `gregg-insights` CLI print for every test scenario.
#
#   scripts/compare-scenarios.sh OLD_CLI NEW_CLI TESTENV [options]
#
#   --save-a DIR     keep OLD_CLI's outputs in DIR (raw, plus `.norm` copies: see below)
#   --save-b DIR     the same for NEW_CLI
#   --only A,B       only these scenarios
#   --sort-queries   also sort the JSON report's `queries` list (only if its order is found to
#                    vary from run to run; off by default: the order is deterministic today)
#
# Each scenario is started once (`TESTENV scenario NAME`: a Prometheus serving its backfilled
# data) and both CLIs are run against that same Prometheus, with the flags the tests use:
#
#   analyze.json        --at AT --window 10m --methods all [--histogram H [--slo S]] [--group-by G]
#                       --format json        (the analysis tests/integration/scenarios.rs runs)
#   analyze.txt         the same, --format text --fail-on medium   (exit status compared too)
#   analyze.md          the same, --format markdown
#   analyze-use.json    --methods use --format json                (the plugin's USE summary)
#   analyze-narrow.json --at as RFC 3339, --selector instance="<first host>",
#                       --threshold cpu.utilization:warning=1, --fail-on high, --format json
#   analyze-latency.json  (scenarios with a histogram) --methods latency --histogram H [--slo S]
#   health.json         health --format json
#   dashboard*.{json,txt,md}  (dashboard_incident, healthy_fleet) `dashboard` against a Grafana
#                       stub serving tests/data/dashboards/*.json, as tests/integration/dashboard.rs
#
# The scenarios are those of `TESTENV list` plus latency_bad_histogram and dashboard_incident.
#
# Before comparing, only timing is removed, from JSON reports:
#   queries[].duration    the wall time of each query: depends on the machine and its load
#   queries[].sent_after  when each query was sent after the analysis started: wall-clock too
# Nothing else is touched: text and Markdown reports, health, exit statuses are compared as they
# are (they hold no timing). The `.norm` copies saved with --save-a/--save-b also have the
# Prometheus and Grafana URLs (random loopback ports) replaced by <prometheus> and <grafana>, so
# that saved outputs of different runs can be diffed; the comparison itself needs no such step
# since both CLIs talk to the same servers.
#
# Prints "same" or a unified diff per scenario, then "N passed, M failed"; exits 1 if any failed.
set -euo pipefail

if [ "$#" -lt 3 ]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 2
fi
REPO="$(cd "$(dirname "$0")/.." && pwd)"
export REPO
exec python3 - "$@" <<'PY'
import argparse, datetime, difflib, http.server, json, os, subprocess, sys, tempfile, threading

REPO = os.environ["REPO"]
EXTRA = ["latency_bad_histogram", "dashboard_incident"]
TOKEN = "glsa_COMPARE-token-0123456789"
TIMING = ("duration", "sent_after")

p = argparse.ArgumentParser(prog="compare-scenarios.sh")
p.add_argument("a"); p.add_argument("b"); p.add_argument("testenv")
p.add_argument("--save-a"); p.add_argument("--save-b")
p.add_argument("--only")
p.add_argument("--sort-queries", action="store_true")
args = p.parse_args()
for b in (args.a, args.b, args.testenv):
    if not os.access(b, os.X_OK):
        sys.exit(f"not an executable: {b}")


def scenario_names():
    out = subprocess.run([args.testenv, "list"], check=True, capture_output=True, text=True).stdout
    names = [json.loads(l)["name"] for l in out.splitlines() if l.strip()]
    return names + [n for n in EXTRA if n not in names]


class Grafana:
    """Grafana's API as tests/integration/dashboard.rs stubs it: dashboards by uid, search,
    data sources, a bearer token on every request, 404 for anything else."""

    def __init__(self, files):
        routes, hits = {}, []
        for f in files:
            d = json.load(open(os.path.join(REPO, "tests/data/dashboards", f)))
            uid = d["uid"]
            routes[f"/api/dashboards/uid/{uid}"] = {"dashboard": d, "meta": {"folderUid": "ops"}}
            hits.append({"uid": uid, "title": d.get("title"), "url": f"/d/{uid}", "type": "dash-db",
                         "tags": d.get("tags"), "folderUid": "ops", "folderTitle": "Ops"})
        routes["/api/search"] = hits
        routes["/api/datasources"] = [
            {"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": True},
            {"uid": "loki", "name": "Loki", "type": "loki", "isDefault": False}]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    status, body = 401, {"message": "Unauthorized"}
                elif self.path.split("?")[0] in routes:
                    status, body = 200, routes[self.path.split("?")[0]]
                else:
                    status, body = 404, {"message": "Not found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def runs(info, prometheus, grafana, token_file):
    """(name, argv) for one scenario, in the order they run."""
    s = info["scenario"]
    at = str(s["at"])
    rfc3339 = datetime.datetime.fromtimestamp(s["at"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    histogram = []
    if s.get("histogram"):
        histogram = ["--histogram", s["histogram"]] + (["--slo", s["slo"]] if s.get("slo") else [])
    group = ["--group-by", s["group_by"]] if s.get("group_by") else []
    base = ["analyze", "--prometheus", prometheus, "--at", at, "--window", "10m"]
    full = base + ["--methods", "all"] + histogram + group
    out = [
        ("analyze.json", full + ["--format", "json"]),
        ("analyze.txt", full + ["--format", "text", "--fail-on", "medium"]),
        ("analyze.md", full + ["--format", "markdown"]),
        ("analyze-use.json", base + ["--methods", "use", "--format", "json"]),
    ]
    if s["hosts"]:
        first = s["hosts"][0]["instance"]
        out.append(("analyze-narrow.json", [
            "analyze", "--prometheus", prometheus, "--at", rfc3339, "--window", "10m",
            "--selector", f'instance="{first}"', "--threshold", "cpu.utilization:warning=1",
            "--fail-on", "high", "--format", "json"] + histogram + group))
    if histogram:
        out.append(("analyze-latency.json", base + ["--methods", "latency", "--format", "json"] + histogram))
    out.append(("health.json", ["health", "--prometheus", prometheus, "--format", "json"]))
    if grafana:
        dash = ["dashboard", "--grafana", grafana.url, "--token-file", token_file,
                "--prometheus", prometheus, "--to", at, "--window", "1h"]
        if s["name"] == "dashboard_incident":
            one = dash + ["--uid", "gregg-incident", "--var", "instance=api-1:9100"]
            out += [("dashboard.json", one + ["--format", "json", "--fail-on", "critical"]),
                    ("dashboard.txt", one + ["--format", "text"]),
                    ("dashboard.md", one + ["--format", "markdown"]),
                    ("dashboard-all.json", dash + ["--uid", "gregg-incident", "--format", "json"])]
        else:  # healthy_fleet through node-exporter-full, as the library test reads it
            out.append(("dashboard-node-exporter-full.json", dash + [
                "--uid", "rYdddlPWk", "--var", "job=node", "--var", "node=web-1:9100",
                "--var", "nodename=web-1", "--format", "json"]))
    return out


DASHBOARDS = {"dashboard_incident": ["scenario-incident.json"],
              "healthy_fleet": ["node-exporter-full.json"]}


def normalise(name, stdout):
    """Timing removed (see the header); anything that is not JSON is compared as it is."""
    if not name.endswith(".json"):
        return stdout
    try:
        doc = json.loads(stdout)
    except ValueError:
        return stdout
    if isinstance(doc, dict) and isinstance(doc.get("queries"), list):
        for q in doc["queries"]:
            if isinstance(q, dict):
                for k in TIMING:
                    q.pop(k, None)
        if args.sort_queries:
            doc["queries"].sort(key=lambda q: json.dumps(q, sort_keys=True))
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def run(binary, argv):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREGG_")}
    try:
        r = subprocess.run([binary] + argv, capture_output=True, text=True, timeout=600, env=env)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", "timed out after 600 s"


def save(directory, scenario, name, code, stdout, stderr, norm, urls):
    if not directory:
        return
    d = os.path.join(directory, scenario)
    os.makedirs(d, exist_ok=True)
    for k, v in urls.items():
        norm = norm.replace(k, v)
    open(os.path.join(d, name), "w").write(stdout)
    open(os.path.join(d, name + ".norm"), "w").write(f"exit: {code}\n" + norm)
    open(os.path.join(d, name + ".stderr"), "w").write(stderr)


def compare(scenario):
    with tempfile.TemporaryDirectory(prefix="compare-scenarios-") as tmp:
        return compare_in(scenario, tmp)


def compare_in(scenario, tmp):
    log = open(os.path.join(tmp, "testenv.log"), "w+")
    env = subprocess.Popen([args.testenv, "scenario", scenario], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=log, text=True)
    grafana = None
    try:
        line = env.stdout.readline()
        if not line:
            env.wait()
            log.seek(0)
            return [f"gregg-testenv scenario {scenario} failed:\n{log.read()}"]
        info = json.loads(line)
        prometheus = info["prometheus"]
        urls = {prometheus: "<prometheus>"}
        token_file = os.path.join(tmp, "token")
        open(token_file, "w").write(TOKEN + "\n")
        if scenario in DASHBOARDS:
            grafana = Grafana(DASHBOARDS[scenario])
            urls[grafana.url] = "<grafana>"
        problems = []
        for name, argv in runs(info, prometheus, grafana, token_file):
            a = run(args.a, argv)
            b = run(args.b, argv)
            na, nb = (normalise(name, x[1]) for x in (a, b))
            save(args.save_a, scenario, name, a[0], a[1], a[2], na, urls)
            save(args.save_b, scenario, name, b[0], b[1], b[2], nb, urls)
            left = [f"exit: {a[0]}\n"] + na.splitlines(keepends=True)
            right = [f"exit: {b[0]}\n"] + nb.splitlines(keepends=True)
            if left != right:
                diff = "".join(difflib.unified_diff(left, right, f"a/{scenario}/{name}", f"b/{scenario}/{name}"))
                problems.append(f"$ gregg-insights {' '.join(argv)}\n{diff}")
        return problems
    finally:
        if grafana:
            grafana.close()
        try:
            env.stdin.close()
            env.wait(timeout=60)
        except subprocess.TimeoutExpired:
            env.kill()
            env.wait()
        log.close()


names = scenario_names()
if args.only:
    wanted = args.only.split(",")
    unknown = [w for w in wanted if w not in names]
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(unknown)}")
    names = [n for n in names if n in wanted]
passed = failed = 0
for n in names:
    problems = compare(n)
    if problems:
        failed += 1
        print(f"{n}: DIFFERENT", flush=True)
        for p in problems:
            print(p, flush=True)
    else:
        passed += 1
        print(f"{n}: same", flush=True)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
