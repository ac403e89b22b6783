#!/usr/bin/env python3
"""Interleaved fleet-scale comparisons for docs/performance.md (issue 19, item 6).

Runs `gregg-insights analyze --format json --stats` against one or more engines serving the
same fleet, alternating with a plain HTTP client that sends the very queries the analysis sent
(the floor), round by round, so that the load other processes put on the machine falls on both
alike. Prints per engine the medians, the ratio to the plain client, requests, refusals and
groups, peak RSS and whether the insights (id and severity) equal the first engine's.

    compare.py --cli target/release/gregg-insights --at 1748865600 --rounds 3 --direct \\
        --engine prometheus=http://127.0.0.1:9090 --engine thanos=http://127.0.0.1:10902 \\
        [--cli-arg=--query-sample-budget=50000] [--out DIR]

An engine may carry its own extra CLI arguments: `--engine name=URL,--flag=value,...`.
Nothing is asserted: the figures and the equality are printed (and written to DIR/summary.json).
Standard library only.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_cli(cli, url, at, extra, out_path):
    """One analysis: wall time, the --stats line, the JSON report (saved to out_path)."""
    args = [cli, "analyze", "--prometheus", url, "--at", str(at), "--format", "json", "--stats"]
    args += extra
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True)
    wall = time.monotonic() - started
    stderr = done.stderr.decode(errors="replace")
    stats = next((l for l in stderr.splitlines() if l.startswith("stats:")), "")
    if done.returncode not in (0, 3):
        print(f"analysis failed ({done.returncode}): {stderr[-2000:]}", file=sys.stderr)
    with open(out_path, "wb") as f:
        f.write(done.stdout)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = {}
    return wall, stats, report


def stat_field(stats, before, after):
    """The text between `before` and `after` in the --stats line."""
    try:
        return stats.split(before, 1)[1].split(after, 1)[0].strip()
    except IndexError:
        return ""


def rfc3339_seconds(text):
    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def requests_of(report):
    """The queries the analysis sent, as (path, form body): refused ones are left out (they
    were answered with an error, a plain client would not have sent them)."""
    rng = report.get("range", {})
    start, end = rfc3339_seconds(rng["start"]), rfc3339_seconds(rng["end"])
    step = rng.get("step_seconds", 15)
    out = []
    for q in report.get("queries", []):
        if q.get("refused"):
            continue
        if q.get("kind") == "range":
            params = {"query": q["promql"], "start": start, "end": end, "step": step}
            out.append(("/api/v1/query_range", urllib.parse.urlencode(params)))
        else:
            params = {"query": q["promql"], "time": end}
            out.append(("/api/v1/query", urllib.parse.urlencode(params)))
    return out


def send_all(url, requests, workers):
    """Send every request with `workers` in flight, reading and discarding each answer."""
    parsed = urllib.parse.urlsplit(url)
    prefix = parsed.path.rstrip("/")
    failures = []
    lock = threading.Lock()
    index = iter(range(len(requests)))

    def worker():
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                return
            path, body = requests[i]
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=300)
            try:
                conn.request("POST", prefix + path, body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
                resp = conn.getresponse()
                while resp.read(1 << 20):
                    pass
                if resp.status != 200:
                    with lock:
                        failures.append(resp.status)
            except OSError as e:
                with lock:
                    failures.append(str(e))
            finally:
                conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - started, failures


def findings(report):
    return sorted((i.get("id", ""), i.get("severity", "")) for i in report.get("insights", []))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--at", required=True)
    ap.add_argument("--engine", action="append", required=True, help="name=URL[,--cli-arg,...]")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--direct", action="store_true", help="also time the plain client")
    ap.add_argument("--workers", default="8,bound",
                    help="plain client's requests in flight: numbers and/or `bound` (the analysis' own)")
    ap.add_argument("--cli-arg", action="append", default=[], help="extra CLI argument, every engine")
    ap.add_argument("--out", default="compare-out")
    opts = ap.parse_args()
    os.makedirs(opts.out, exist_ok=True)

    engines = []
    for spec in opts.engine:
        name, rest = spec.split("=", 1)
        url, *extra = rest.split(",")
        engines.append({"name": name, "url": url, "extra": opts.cli_arg + extra,
                        "cli": [], "direct": [], "loads": []})

    # Warm-up: one analysis per engine (its page cache, and the query list for the plain client).
    for e in engines:
        wall, stats, report = run_cli(opts.cli, e["url"], opts.at, e["extra"],
                                      f"{opts.out}/{e['name']}-warmup.json")
        e["requests"] = requests_of(report) if report else []
        e["bound"] = int(report.get("concurrency", 8) or 8)
        print(f"[warm-up] {e['name']}: {wall:.2f} s  {stats}", flush=True)

    for r in range(opts.rounds):
        for e in engines:
            if opts.direct and e["requests"]:
                walls = {}
                wanted = {e["bound"] if w == "bound" else int(w) for w in opts.workers.split(",")}
                for workers in sorted(wanted):
                    load = load_average()
                    wall, failures = send_all(e["url"], e["requests"], workers)
                    walls[workers] = wall
                    e["loads"].append(load)
                    print(f"[round {r + 1}] {e['name']} plain client, {workers} in flight: "
                          f"{wall:.2f} s, {len(failures)} failed {failures[:3]} (load {load})", flush=True)
                e["direct"].append(min(walls.values()))
            load = load_average()
            wall, stats, report = run_cli(opts.cli, e["url"], opts.at, e["extra"],
                                          f"{opts.out}/{e['name']}-{r + 1}.json")
            e["loads"].append(load)
            e["cli"].append({"wall": wall, "stats": stats, "findings": findings(report)})
            print(f"[round {r + 1}] {e['name']} CLI: {wall:.2f} s (load {load})  {stats}", flush=True)

    reference = engines[0]["cli"][-1]["findings"]
    summary = []
    print("\nengine | plain client (median) | CLI (median) | ratio | queries | refused | in groups "
          "| insights | same as " + engines[0]["name"] + " | peak RSS (max) | load averages")
    for e in engines:
        cli = statistics.median(c["wall"] for c in e["cli"])
        direct = statistics.median(e["direct"]) if e["direct"] else None
        last = e["cli"][-1]["stats"]
        rss = max(float(stat_field(c["stats"], "peak RSS", "MiB") or 0) for c in e["cli"])
        same = all(c["findings"] == reference for c in e["cli"])
        row = {
            "engine": e["name"], "url": e["url"], "extra": e["extra"],
            "cli_runs": [round(c["wall"], 2) for c in e["cli"]], "cli_median": round(cli, 2),
            "direct_runs": [round(d, 2) for d in e["direct"]],
            "direct_median": round(direct, 2) if direct else None,
            "ratio": round(cli / direct, 2) if direct else None,
            "queries": stat_field(last, "stats:", "queries"),
            "refused": stat_field(last, "(", "refused"),
            "grouped": stat_field(last, "for size,", "sent in"),
            "insights": len(e["cli"][-1]["findings"]),
            "same_findings": same, "peak_rss_mib": rss, "loads": e["loads"],
            "stats": [c["stats"] for c in e["cli"]],
        }
        if not same:
            mine = set(e["cli"][-1]["findings"])
            row["only_here"] = sorted(mine - set(reference))[:20]
            row["only_in_reference"] = sorted(set(reference) - mine)[:20]
        summary.append(row)
        print(f"{e['name']} | {row['direct_median']} s {row['direct_runs']} | {row['cli_median']} s "
              f"{row['cli_runs']} | {row['ratio']} | {row['queries']} | {row['refused']} | "
              f"{row['grouped']} | {row['insights']} | {same} | {rss:.1f} MiB | {', '.join(e['loads'])}")
    with open(f"{opts.out}/summary.json", "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
