"""`analyze` on a synthetic fleet: the MCP server (Python client over stdio) against the CLI.

    target/mcp-venv/bin/python tests/mcp/fleet_timing.py --bin target/release --hosts 1000
    (or --prometheus URL --at UNIX_SECONDS for a fleet `gregg-testenv fleet 1000` already serves)

Starts `gregg-testenv fleet N`, then times `gregg-insights analyze --format json` and the MCP
`analyze` tool over the same window (`--window`, default the CLI's 10m; the tool's own default
is a panel's 5m) (server already initialised, so the figure is the call, as an agent sees it),
each three times, alternating, and prints the medians. docs/performance.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release", type=Path)
    parser.add_argument("--hosts", default=1000, type=int)
    parser.add_argument("--runs", default=3, type=int)
    parser.add_argument("--prometheus", help="a fleet already served (gregg-testenv fleet N), with --at")
    parser.add_argument("--at")
    parser.add_argument("--window", default="10m", help="the same window for both (the CLI's default)")
    args = parser.parse_args()
    bin_dir = args.bin.resolve()
    env = None
    if not args.prometheus:
        env = subprocess.Popen(
            [str(bin_dir / "gregg-testenv"), "fleet", str(args.hosts)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    try:
        if env is None:
            prometheus, at = args.prometheus, str(args.at)
        else:
            assert env.stdout is not None
            started = json.loads(env.stdout.readline())
            prometheus, at = started["prometheus"], str(started["at"])
        cli = str(bin_dir / "gregg-insights")
        cli_times, mcp_times = [], []
        params = StdioServerParameters(command=cli, args=["mcp", "--prometheus", prometheus])
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for _ in range(args.runs):
                t = time.perf_counter()
                run = subprocess.run([cli, "analyze", "--prometheus", prometheus, "--at", at, "--window", args.window, "--format", "json"], capture_output=True)
                cli_times.append(time.perf_counter() - t)
                assert run.returncode == 0, run.stderr
                cli_insights = len(json.loads(run.stdout)["insights"])
                t = time.perf_counter()
                result = await session.call_tool("analyze", {"at": at, "window": args.window})
                mcp_times.append(time.perf_counter() - t)
                assert not result.is_error, result.content
                answer = result.structured_content
                assert answer["matched"] == cli_insights, (answer["matched"], cli_insights)
        print(f"fleet of {args.hosts} hosts, {cli_insights} insights, window {args.window}, median of {args.runs} runs:")
        print(f"  CLI  analyze --format json   {statistics.median(cli_times):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in cli_times)})")
        print(f"  MCP  analyze (stdio)         {statistics.median(mcp_times):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in mcp_times)})")
        print(f"  MCP answer: {len(json.dumps(answer))} bytes ({answer['shown']} of {answer['matched']} insights)")
    finally:
        if env is not None and env.stdin:
            env.stdin.close()
            env.wait(timeout=60)


if __name__ == "__main__":
    asyncio.run(main())
