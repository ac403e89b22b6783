"""The MCP server tested with the official Python client, over stdio and streamable HTTP.

Started by `go run mage.go test` (the "mcp clients" step) as
`python tests/mcp/mcp_clients.py --bin target/release --autogen-python
target/autogen-venv/bin/python`; needs `gregg-insights` and
`gregg-testenv` built there. It starts a backfilled scenario Prometheus (`mixed_fleet`:
twelve hosts, a CPU bottleneck on hot-7 and a full disk on full-3), lists and calls every tool
and checks the answers against the scenario's known problems, then runs an AutoGen agent
(agent_team.py) on the same server. Prints `mcp: N passed, N failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import threading
import sys
import tempfile
import traceback
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

SCENARIO = "mixed_fleet"
TOOLS = {
    "analyze",
    "drill_down",
    "analyze_dashboard",
    "explain_check",
    "list_checks",
    "list_instances",
    "health",
}
SEVERITIES = ["info", "low", "medium", "high", "critical"]


class Env:
    """The scenario Prometheus and what the tests know about it."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.cli = str(bin_dir / "gregg-insights")
        self.proc = subprocess.Popen(
            [str(bin_dir / "gregg-testenv"), "scenario", SCENARIO],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        started = json.loads(self.proc.stdout.readline())
        self.prometheus: str = started["prometheus"]
        self.scenario: dict[str, Any] = started["scenario"]
        self.at = str(self.scenario["at"])
        self.tmp = tempfile.TemporaryDirectory()
        # A bearer token for Prometheus that must never appear in an answer or a log.
        self.secret = "s3cr3t-" + os.urandom(8).hex()
        self.secret_file = Path(self.tmp.name) / "prometheus-token"
        self.secret_file.write_text(self.secret + "\n")
        self.listen_token = "listen-" + os.urandom(8).hex()
        self.listen_token_file = Path(self.tmp.name) / "listen-token"
        self.listen_token_file.write_text(self.listen_token + "\n")
        # Grafana's service account token: never in an answer or a log either.
        self.grafana_token = "glsa_" + os.urandom(8).hex()

    def server_args(self, prometheus: str | None = None) -> list[str]:
        return [
            "mcp",
            "--prometheus",
            prometheus or self.prometheus,
            "--bearer-token-file",
            str(self.secret_file),
        ]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.tmp.cleanup()


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, f"tool error: {text(result)}"
    assert isinstance(result.structured_content, dict), result
    # The text is the same JSON, for clients (AutoGen) that read text only.
    assert json.loads(text(result)) == result.structured_content
    return result.structured_content


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def error(result: Any) -> str:
    assert result.is_error, f"expected a tool error, got {text(result)[:300]}"
    return text(result)


def matches(insight: dict[str, Any], expect: dict[str, Any]) -> bool:
    if insight.get("instance") != expect["instance"] or insight.get("check") != expect["check"]:
        return False
    if expect.get("device") and insight.get("device") != expect["device"]:
        return False
    rank = SEVERITIES.index(insight["severity"])
    return SEVERITIES.index(expect["min"]) <= rank <= SEVERITIES.index(expect["max"])


async def check_tools(session: ClientSession, env: Env, secrets_seen: list[str]) -> None:
    """Every tool listed with its schemas, called, its answer checked."""
    listed = (await session.list_tools()).tools
    assert {t.name for t in listed} == TOOLS, [t.name for t in listed]
    for tool in listed:
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
        assert tool.description, tool.name

    answer = structured(await session.call_tool("analyze", {"at": env.at, "window": "10m"}))
    secrets_seen.append(json.dumps(answer))
    assert answer["summary"]["instances"] == len(env.scenario["hosts"]), answer["summary"]
    assert answer["headline"].startswith(f"{answer['summary']['critical']} critical"), answer["headline"]
    for expect in env.scenario["expect"]:
        assert any(matches(i, expect) for i in answer["insights"]), (expect, answer["headline"])
    first = answer["insights"][0]
    assert first["severity"] == "critical" and "root_cause" not in first, first
    assert set(first) >= {"id", "title", "observation", "evidence", "immediate_action", "confidence"}

    cut = structured(await session.call_tool("analyze", {"at": env.at, "limit": 1, "detail": "full"}))
    assert cut["shown"] == 1 and cut["truncated"] and cut["matched"] > 1, cut
    assert f"of {cut['matched']} insights" in cut["note"], cut["note"]
    assert "root_cause" in cut["insights"][0] and "investigation_steps" in cut["insights"][0]

    only = structured(
        await session.call_tool(
            "analyze", {"at": env.at, "instances": "full-3:9100", "minSeverity": "high", "components": ["filesystem"]}
        )
    )
    assert only["insights"] and all(i["instance"] == "full-3:9100" for i in only["insights"]), only
    assert all(i["component"] == "filesystem" for i in only["insights"])

    drill = structured(
        await session.call_tool("drill_down", {"at": env.at, "instance": "hot-7:9100", "component": "cpu"})
    )
    assert drill["insights"], drill
    assert all(i["instance"] == "hot-7:9100" and i["component"] == "cpu" for i in drill["insights"]), drill
    assert {i["methodology"] for i in drill["insights"]} <= {"use_method", "drill_down"}
    assert any(i["check"] == "cpu.bottleneck" for i in drill["insights"]), drill["headline"]
    assert drill["summary"]["instances"] == 1, drill["summary"]

    explained = structured(await session.call_tool("explain_check", {"check": "filesystem.space"}))
    assert explained["thresholds"]["source"] and explained["book_reference"], explained
    assert "window" in explained["rule"] or "end" in explained["rule"], explained["rule"]

    checks = structured(await session.call_tool("list_checks", {}))["checks"]
    assert any(c["id"] == "cpu.utilization" for c in checks) and len(checks) > 10
    cpu = structured(await session.call_tool("list_checks", {"component": "cpu"}))["checks"]
    assert cpu and all(c["component"] == "cpu" for c in cpu)

    hosts = structured(await session.call_tool("list_instances", {"at": env.at}))
    assert sorted(hosts["instances"]) == sorted(h["instance"] for h in env.scenario["hosts"]), hosts
    few = structured(await session.call_tool("list_instances", {"at": env.at, "limit": 2}))
    assert len(few["instances"]) == 2 and few["truncated"] and "showing 2 of" in few["note"], few

    health = structured(await session.call_tool("health", {}))
    secrets_seen.append(json.dumps(health))
    # Health looks at now, and the scenario's data is backfilled in the past: Prometheus is up
    # (its version read) but has no current node_exporter data, which the verdict says.
    assert health["status"] == "error" and health["details"]["prometheusVersion"], health
    assert "no node_exporter data" in health["message"], health["message"]

    no_grafana = error(await session.call_tool("analyze_dashboard", {"dashboardUid": "x"}))
    assert "needs Grafana" in no_grafana, no_grafana


async def check_bad_arguments(session: ClientSession, env: Env) -> None:
    """A bad argument is a tool error naming it."""
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("analyze", {"window": "5 minutes"}, "argument `window`:"),
        ("analyze", {"window": "10s"}, "argument `window`:"),
        ("analyze", {"window": 5}, "argument `window`: must be a duration"),
        ("analyze", {"at": "yesterday"}, "argument `at`:"),
        ("analyze", {"minSeverity": "urgent"}, "argument `minSeverity`:"),
        ("analyze", {"components": ["gpu"]}, "argument `components`:"),
        ("analyze", {"instances": "web-("}, "argument `instances`:"),
        ("analyze", {"histogram": "h", "slo": "fast"}, "argument `slo`:"),
        ("analyze", {"limit": 0}, "argument `limit`:"),
        ("analyze", {"detail": "everything"}, "argument `detail`:"),
        ("analyze", {"thresholds": {"cpu.nope": {"warning": 1}}}, "argument `thresholds`:"),
        ("analyze", {"windw": "10m"}, "unknown argument `windw`"),
        ("drill_down", {"instance": "hot-7:9100"}, "argument `component`:"),
        ("drill_down", {"instance": "hot-7:9100", "component": "gpu"}, "argument `component`:"),
        ("explain_check", {"check": "cpu.nope"}, "argument `check`: unknown check"),
        ("list_instances", {"limit": 5000}, "argument `limit`:"),
    ]
    for tool, arguments, wanted in cases:
        result = await session.call_tool(tool, arguments)
        assert result.is_error, f"{tool} {arguments}: expected a tool error, got {text(result)[:200]}"
        message = text(result)
        assert message.startswith(wanted), (tool, arguments, message)


async def check_resources_and_prompts(session: ClientSession) -> None:
    """The catalog and the last report; the two prompts."""
    uris = {str(r.uri) for r in (await session.list_resources()).resources}
    assert uris == {"gregg://catalog", "gregg://report/last"}, uris
    catalog = (await session.read_resource("gregg://catalog")).contents[0]
    checks = json.loads(catalog.text)["checks"]
    assert any(c["id"] == "cpu.utilization" and c["rule"] for c in checks)
    report = (await session.read_resource("gregg://report/last")).contents[0]
    assert report.mime_type == "text/markdown" and "hot-7:9100" in report.text, report.text[:300]
    names = {p.name for p in (await session.list_prompts()).prompts}
    assert names == {"use_sweep", "investigate_host"}, names
    prompt = await session.get_prompt("investigate_host", {"instance": "hot-7:9100", "window": "15m"})
    body = prompt.messages[0].content.text
    order = [body.index(step) for step in ("USE method", "Workload characterization", "Drill-down", "Latency")]
    assert order == sorted(order), body
    assert "hot-7:9100" in body and "15m" in body
    sweep = await session.get_prompt("use_sweep", {})
    assert "use_method" in sweep.messages[0].content.text


async def check_prometheus_failure(env: Env) -> None:
    """Prometheus down: a tool error with the CLI's message."""
    dead = f"http://127.0.0.1:{free_port()}"
    cli = subprocess.run(
        [env.cli, "analyze", "--prometheus", dead, "--at", env.at, "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode != 0 and cli.stderr.startswith("error: "), cli.stderr
    params = StdioServerParameters(command=env.cli, args=env.server_args(dead))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        message = error(await session.call_tool("analyze", {"at": env.at}))
    assert message == cli.stderr.strip().removeprefix("error: "), (message, cli.stderr)


DASHBOARD = Path(__file__).resolve().parents[1] / "data" / "dashboards" / "scenario-incident.json"


@asynccontextmanager
async def grafana_stub(token: str) -> AsyncIterator[str]:
    """Grafana's read-only API for one dashboard (Grafana itself cannot run here): the
    dashboard by uid, the data sources, the search; 401 without the service account token."""
    dashboard = json.loads(DASHBOARD.read_text())
    routes = {
        f"/api/dashboards/uid/{dashboard['uid']}": {"dashboard": dashboard, "meta": {"folderUid": "ops"}},
        "/api/datasources": [{"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": True}],
        "/api/search": [{"uid": dashboard["uid"], "title": dashboard["title"], "type": "dash-db"}],
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            path = self.path.split("?")[0]
            if self.headers.get("Authorization") != f"Bearer {token}":
                status, body = 401, {"message": "Unauthorized"}
            elif path in routes:
                status, body = 200, routes[path]
            else:
                status, body = 404, {"message": "Not found"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def verdicts(insights: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a finding says, without its wording: check, instance, device, severity, title."""
    return sorted((i["check"], i.get("instance"), i.get("device"), i["severity"], i["title"]) for i in insights)


async def check_dashboard(env: Env, errlog: Any, secrets_seen: list[str]) -> None:
    """`analyze_dashboard` reads a dashboard through Grafana's API and finds what the CLI's
    `dashboard` command finds on the same dashboard, range and Prometheus."""
    token_file = Path(env.tmp.name) / "grafana-token"
    token_file.write_text(env.grafana_token + "\n")
    async with grafana_stub(env.grafana_token) as grafana:
        args = [*env.server_args(), "--grafana", grafana, "--grafana-token-file", str(token_file)]
        params = StdioServerParameters(command=env.cli, args=args)
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            asked = {"dashboardUid": "gregg-incident", "to": env.at, "window": "1h", "limit": 200}
            answer = structured(await session.call_tool("analyze_dashboard", asked))
            secrets_seen.append(json.dumps(answer))
            missing = error(await session.call_tool("analyze_dashboard", {**asked, "dashboardUid": "nope"}))
            secrets_seen.append(missing)
        cli = subprocess.run(
            [env.cli, "dashboard", "--grafana", grafana, "--token-file", str(token_file), "--prometheus", env.prometheus,
             "--prometheus-token-file", str(env.secret_file), "--uid", "gregg-incident", "--to", env.at, "--window", "1h",
             "--format", "json"],
            capture_output=True, text=True, timeout=300,
        )
    assert answer["dashboard"]["uid"] == "gregg-incident" and answer["dashboard"]["title"], answer.get("dashboard")
    assert not answer.get("truncated"), answer.get("note")
    # mixed_fleet's hot-7 is CPU-bound all window: the dashboard's CPU panels must show it.
    assert any(i.get("instance") == "hot-7:9100" for i in answer["insights"]), answer["headline"]
    assert all(i["title"].strip() for i in answer["insights"])
    assert cli.returncode == 0, cli.stderr[-2000:]
    report = json.loads(cli.stdout)
    assert verdicts(answer["insights"]) == verdicts(report["insights"]), (
        verdicts(answer["insights"]), verdicts(report["insights"]))
    assert "nope" in missing and ("not found" in missing.lower() or "404" in missing), missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def stdio_session(env: Env, errlog: Any) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=env.cli, args=env.server_args())
    async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def http_server(env: Env, errlog: Any) -> AsyncIterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [env.cli, *env.server_args(), "--listen", f"127.0.0.1:{port}", "--listen-token-file", str(env.listen_token_file)],
        stderr=errlog,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@asynccontextmanager
async def http_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        async with streamable_http_client(url, http_client=client) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


async def check_http_auth(url: str, env: Env) -> None:
    """Without the token, or with a wrong one: 401 before MCP sees the request."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx2.AsyncClient() as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            r = await client.post(url, json=body, headers={**headers, "Accept": "application/json, text/event-stream"})
            assert r.status_code == 401, (headers, r.status_code, r.text)
            assert env.listen_token not in r.text


def check_listen_needs_token(env: Env) -> None:
    """A non-loopback address without a token is refused at start."""
    run = subprocess.run(
        [env.cli, *env.server_args(), "--listen", f"0.0.0.0:{free_port()}"], capture_output=True, text=True, timeout=30
    )
    assert run.returncode != 0 and "--listen-token-file" in run.stderr, run.stderr


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release", type=Path)
    parser.add_argument("--autogen-python", required=True, type=Path, help="python of the AutoGen venv")
    args = parser.parse_args()
    bin_dir = args.bin.resolve()
    autogen_python = args.autogen_python
    env = Env(bin_dir)
    passed, failed = 0, 0
    secrets_seen: list[str] = []
    errlog = tempfile.TemporaryFile(mode="w+")

    async def test(name: str, body: Callable[[], Awaitable[None]]) -> None:
        nonlocal passed, failed
        try:
            await body()
            passed += 1
            print(f"ok   {name}", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)

    async def over_stdio() -> None:
        async with stdio_session(env, errlog) as session:
            await check_tools(session, env, secrets_seen)
            await check_bad_arguments(session, env)
            await check_resources_and_prompts(session)

    async def over_http() -> None:
        async with http_server(env, errlog) as url:
            await check_http_auth(url, env)
            async with http_session(url, env.listen_token) as session:
                await check_tools(session, env, secrets_seen)
                await check_bad_arguments(session, env)
                await check_resources_and_prompts(session)

    async def no_secrets() -> None:
        errlog.seek(0)
        logs = errlog.read()
        assert secrets_seen, "no answers recorded"
        for blob in [*secrets_seen, logs]:
            assert env.secret not in blob and env.listen_token not in blob and env.grafana_token not in blob

    async def autogen_team() -> None:
        # AutoGen needs mcp 1.x (its own venv, requirements-autogen.txt): run it there.
        scenario = Path(env.tmp.name) / "scenario.json"
        scenario.write_text(json.dumps(env.scenario))
        run = subprocess.run(
            [str(autogen_python), str(Path(__file__).parent / "agent_team.py"), env.cli, str(scenario), *env.server_args()],
            capture_output=True,
            text=True,
            timeout=600,
        )
        print(run.stdout, end="")
        assert run.returncode == 0, run.stderr[-3000:]

    async def listen_token() -> None:
        check_listen_needs_token(env)

    try:
        await test("python mcp client over stdio: every tool, bad arguments, resources, prompts", over_stdio)
        await test("python mcp client over streamable HTTP with a bearer token", over_http)
        await test("Prometheus failures are tool errors with the CLI's message", lambda: check_prometheus_failure(env))
        await test(
            "analyze_dashboard through Grafana's API finds what the CLI's dashboard command finds",
            lambda: check_dashboard(env, errlog, secrets_seen),
        )
        await test("a non-loopback --listen needs a token", listen_token)
        await test("no secret in any answer or log", no_secrets)
        await test("AutoGen AgentChat agent through McpWorkbench maps insights to findings", autogen_team)
    finally:
        env.close()
    print(f"mcp: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(asyncio.run(main()))
