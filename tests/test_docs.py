"""What the README and docs/agent.http show newcomers still works against the service."""

from __future__ import annotations

import json
import re
from typing import Any

from app.errors import problem_types
from tests.conftest import ROOT

_VARIABLE = re.compile(r"\{\{([^}]+)\}\}")


def _blocks(text: str) -> list[dict[str, Any]]:
    """The requests of a .http file: name, method, path, headers and body of each."""
    found = []
    for chunk in re.split(r"^###.*$", text, flags=re.M)[1:]:
        lines = chunk.strip("\n").splitlines()
        name = next((line.split()[-1] for line in lines if line.startswith("# @name")), None)
        lines = [line for line in lines if not line.startswith("#")]
        method, url = lines[0].split(" ", 1)
        blank = lines.index("") if "" in lines else len(lines)
        headers = dict(line.split(": ", 1) for line in lines[1:blank])
        body = "\n".join(lines[blank + 1:]).strip()
        found.append({"name": name, "method": method, "url": url, "headers": headers,
                      "body": body})
    return found


def _fill(text: str, answers: dict[str, Any], token: str) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in ("base", "token"):
            return "" if key == "base" else token
        name, _response, _body, *path = key.replace("[", ".").replace("]", "").split(".")
        node: Any = answers[name]
        for part in path:
            node = node[int(part)] if part.isdigit() else node[part]
        return str(node)

    return _VARIABLE.sub(value, text)


async def test_every_request_of_the_agent_collection_is_one_the_api_takes(client, agent) -> None:  # type: ignore[no-untyped-def]
    token = agent["Authorization"].split()[1]
    blocks = _blocks((ROOT / "docs" / "agent.http").read_text())
    assert len(blocks) >= 15
    answers: dict[str, Any] = {}
    for block in blocks:
        url = _fill(block["url"], answers, token)
        headers = {k: _fill(v, answers, token) for k, v in block["headers"].items()}
        body = block["body"].encode() if block["body"] else None
        if body:
            json.loads(body)
        response = await client.request(block["method"], url, headers=headers, content=body)
        # 409: an action the request's state does not allow yet (a task that is not manual).
        assert response.status_code in (200, 202, 409), (block["method"], url, response.text)
        if block["name"]:
            answers[block["name"]] = response.json()


def test_the_readme_lists_every_problem_type() -> None:
    readme = (ROOT / "README.md").read_text()
    for kind in problem_types():
        assert f"| {kind.status} | `{kind.slug}` | {kind.meaning} |" in readme, kind.slug
