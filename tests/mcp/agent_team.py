"""An AutoGen AgentChat team uses the MCP server through McpWorkbench.

The performance analyst is an AssistantAgent whose model is AutoGen's
ReplayChatCompletionClient: scripted turns (call `analyze`, then conclude), so nothing is
downloaded and the run is the same every time. Its tool results are mapped to the seed
persona's AutoGen findings ("Integration with AutoGen": severity, recommendation = immediate
action, metrics = evidence, confidence / 100) and checked against the scenario's known problems.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.messages import ToolCallExecutionEvent
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, ModelFamily, ModelInfo, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient
from autogen_ext.tools.mcp import McpWorkbench, StdioServerParams

SEVERITIES = ["info", "low", "medium", "high", "critical"]


class AgentRole(Enum):
    PERFORMANCE_ANALYST = "performance_analyst"


class AnalysisSeverity(Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass
class AnalysisFinding:
    """The seed's AutoGen finding."""

    id: str
    agent: AgentRole
    component: str
    severity: AnalysisSeverity
    title: str
    description: str
    recommendation: str
    metrics: dict[str, float]
    confidence: float
    timestamp: datetime


def finding(insight: dict[str, Any]) -> AnalysisFinding:
    """The seed's mapping, field for field."""
    return AnalysisFinding(
        id=insight["id"],
        agent=AgentRole.PERFORMANCE_ANALYST,
        component=insight["component"],
        severity=AnalysisSeverity[insight["severity"].upper()],
        title=insight["title"],
        description=insight["observation"],
        recommendation=insight["immediate_action"],
        metrics=insight["evidence"],
        confidence=insight["confidence"] / 100,
        timestamp=datetime.fromisoformat(insight["timestamp"].replace("Z", "+00:00")),
    )


def scripted_model(at: str) -> ReplayChatCompletionClient:
    """Turn 1: call analyze. Turn 2: conclude (after reading the tool result)."""
    usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
    call = FunctionCall(
        id="call-1",
        name="analyze",
        arguments=json.dumps({"at": at, "window": "10m", "minSeverity": "high"}),
    )
    return ReplayChatCompletionClient(
        [
            CreateResult(finish_reason="function_calls", content=[call], usage=usage, cached=False),
            "The fleet has a CPU bottleneck and a full filesystem; findings handed to the team. TERMINATE",
        ],
        model_info=ModelInfo(
            vision=False,
            function_calling=True,
            json_output=False,
            family=ModelFamily.UNKNOWN,
            structured_output=False,
        ),
    )


async def run_team(cli: str, server_args: list[str], scenario: dict[str, Any]) -> list[AnalysisFinding]:
    model = scripted_model(str(scenario["at"]))
    params = StdioServerParams(command=cli, args=server_args, read_timeout_seconds=120)
    async with McpWorkbench(server_params=params) as workbench:
        tools = {t["name"] for t in await workbench.list_tools()}
        assert {"analyze", "drill_down", "explain_check"} <= tools, tools
        analyst = AssistantAgent(
            "performance_analyst",
            model_client=model,
            workbench=workbench,
            reflect_on_tool_use=True,
            system_message="You are Brendan Gregg's performance analyst. Use the USE method first.",
        )
        team = RoundRobinGroupChat(
            [analyst],
            termination_condition=TextMentionTermination("TERMINATE") | MaxMessageTermination(8),
        )
        result = await team.run(task="Analyse the fleet and report findings for the team.")

    executions = [m for m in result.messages if isinstance(m, ToolCallExecutionEvent)]
    assert len(executions) == 1 and executions[0].content[0].name == "analyze", result.messages
    executed = executions[0].content[0]
    assert not executed.is_error, executed.content
    answer = json.loads(executed.content)
    # The model's second turn was given the tool's answer.
    assert len(model.create_calls) == 2, len(model.create_calls)
    assert executed.content in json.dumps([str(m) for m in model.create_calls[1]["messages"]]) or any(
        "headline" in str(m) for m in model.create_calls[1]["messages"]
    )
    assert "TERMINATE" in result.messages[-1].to_text()

    findings = [finding(i) for i in answer["insights"]]
    by_id = {f.id: f for f in findings}
    for expect in scenario["expect"]:
        insight = next(
            (
                i
                for i in answer["insights"]
                if i.get("instance") == expect["instance"]
                and i["check"] == expect["check"]
                and SEVERITIES.index(expect["min"]) <= SEVERITIES.index(i["severity"]) <= SEVERITIES.index(expect["max"])
            ),
            None,
        )
        assert insight is not None, (expect, answer["headline"])
        f = by_id[insight["id"]]
        assert f.agent is AgentRole.PERFORMANCE_ANALYST
        assert f.severity.value == insight["severity"] == expect["min"]
        assert f.component == expect["check"].split(".")[0]
        assert f.recommendation == insight["immediate_action"] and f.recommendation
        assert f.metrics == insight["evidence"] and f.metrics
        assert 0 < f.confidence <= 1 and abs(f.confidence * 100 - insight["confidence"]) < 1e-9
        assert f.description == insight["observation"] and f.title
    assert all(f.severity in (AnalysisSeverity.HIGH, AnalysisSeverity.CRITICAL) for f in findings)
    return findings


if __name__ == "__main__":
    # agent_team.py CLI SCENARIO_JSON SERVER_ARGS...: run by mcp_clients.py in the AutoGen venv.
    cli_path, scenario_path, *server = sys.argv[1:]
    with open(scenario_path) as f:
        known = json.load(f)
    for f in asyncio.run(run_team(cli_path, server, known)):
        print(f"  finding {f.severity.value:8} {f.component:10} confidence {f.confidence:.2f}  {f.title}")
