#!/usr/bin/env python3
"""Drives an MCP server over Streamable HTTP with the official MCP Python SDK (PyPI `mcp` 1.x).

One of the two independent clients the MCP server's integration tests use (the other is the MCP
Inspector's CLI). Run it with the venv python that scripts/mcp-clients installs.

Usage: python_sdk_client.py URL TOKEN < calls.json

stdin holds a JSON array of tool calls, [{"tool": "name", "arguments": {...}}, ...] (empty stdin
is an empty array). Every HTTP request carries `Authorization: Bearer TOKEN`. stdout gets one JSON
object per line, in this order:
  {"event": "initialized", "protocol_version": ..., "server_name": ..., "server_version": ...}
  {"event": "tools", "tools": [{"name": ..., "annotations": {...}, "has_output_schema": bool}]}
  {"event": "resources", "uris": [...]}      empty when the server has no resources capability
  {"event": "prompts", "names": [...]}       empty when the server has no prompts capability
  {"event": "call", "tool": ..., "is_error": bool, "structured": <structuredContent or null>,
   "text": <the text content blocks joined with "\n">, "rpc_error": null}       one per call
A call the server rejects with a JSON-RPC error (unknown tool, bad params) is reported as a call
with "is_error": true and "rpc_error": {"code": ..., "message": ...}; the run goes on. The SDK
checks a successful call's structuredContent against the tool's outputSchema: a mismatch is a
failure of the whole run.

Exit codes: 0 done; 3 the server answered HTTP 401 (stdout gets
{"event": "unauthorized", "status": 401}); 2 bad usage or input; 1 any other failure, with a
message on stderr. The whole run is bounded by MCP_CLIENT_TIMEOUT seconds (default 60).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from typing import Any

import anyio
import httpx
from mcp import ClientSession, McpError
from mcp.client import streamable_http

if sys.version_info < (3, 11):  # anyio brings the backport there
    from exceptiongroup import BaseExceptionGroup

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAUTHORIZED = 3
METHOD_NOT_FOUND = -32601


class Unauthorized(Exception):
    pass


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = EXIT_FAILURE) -> None:
    print(f"python_sdk_client: {message}", file=sys.stderr)
    sys.exit(code)


def read_calls() -> list[dict[str, Any]]:
    raw = sys.stdin.read()
    if not raw.strip():
        return []
    try:
        calls = json.loads(raw)
    except json.JSONDecodeError as e:
        fail(f"stdin is not JSON: {e}", EXIT_USAGE)
    if not isinstance(calls, list):
        fail("stdin must be a JSON array of calls", EXIT_USAGE)
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("tool"), str):
            fail(f"call {i} must be an object with a string \"tool\"", EXIT_USAGE)
        if not isinstance(call.get("arguments", {}), dict):
            fail(f"call {i}: \"arguments\" must be an object", EXIT_USAGE)
    return calls


def dump(model: Any) -> Any:
    if model is None:
        return None
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def walk(error: BaseException):
    """The exception, its group members and their causes, depth first."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            stack.extend(e.exceptions)
        stack.extend([e.__cause__, e.__context__])


def is_unauthorized(error: BaseException) -> bool:
    return any(
        isinstance(e, Unauthorized)
        or (isinstance(e, httpx.HTTPStatusError) and e.response.status_code == 401)
        for e in walk(error)
    )


def describe(error: BaseException) -> str:
    noise = (BaseExceptionGroup, asyncio.CancelledError, anyio.WouldBlock, TimeoutError)
    leaves = [e for e in walk(error) if not isinstance(e, noise)]
    leaves = leaves or [e for e in walk(error) if not isinstance(e, BaseExceptionGroup)]
    messages = list(dict.fromkeys(f"{type(e).__name__}: {e}".rstrip(": ") for e in leaves))
    return "; ".join(messages[:3]) or repr(error)


async def list_all(fetch, attribute: str) -> list[Any]:
    """Every page of a paginated list request."""
    from mcp.types import PaginatedRequestParams

    items: list[Any] = []
    cursor = None
    for _ in range(1000):
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        result = await fetch(params=params)
        items.extend(getattr(result, attribute))
        cursor = result.nextCursor
        if not cursor:
            return items
    raise RuntimeError(f"more than 1000 pages of {attribute}")


async def list_optional(capable: bool, fetch, attribute: str) -> list[Any]:
    if not capable:
        return []
    try:
        return await list_all(fetch, attribute)
    except McpError as e:
        if e.error.code == METHOD_NOT_FOUND:
            return []
        raise


async def run(url: str, token: str, calls: list[dict[str, Any]]) -> None:
    saw_401 = False

    async def on_response(response: httpx.Response) -> None:
        nonlocal saw_401
        if response.status_code == 401:
            saw_401 = True

    http = httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(30.0, read=300.0),
        event_hooks={"response": [on_response]},
    )
    try:
        async with http:
            if hasattr(streamable_http, "streamable_http_client"):
                transport = streamable_http.streamable_http_client(url, http_client=http)
            else:  # older 1.x releases
                transport = streamable_http.streamablehttp_client(
                    url, headers={"Authorization": f"Bearer {token}"}
                )
            async with transport as (read, write, _session_id):
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    emit(
                        {
                            "event": "initialized",
                            "protocol_version": init.protocolVersion,
                            "server_name": init.serverInfo.name,
                            "server_version": init.serverInfo.version,
                        }
                    )

                    tools = await list_all(session.list_tools, "tools")
                    emit(
                        {
                            "event": "tools",
                            "tools": [
                                {
                                    "name": t.name,
                                    "annotations": dump(t.annotations) or {},
                                    "has_output_schema": t.outputSchema is not None,
                                }
                                for t in tools
                            ],
                        }
                    )

                    caps = init.capabilities
                    resources = await list_optional(
                        caps.resources is not None, session.list_resources, "resources"
                    )
                    emit({"event": "resources", "uris": [str(r.uri) for r in resources]})
                    prompts = await list_optional(caps.prompts is not None, session.list_prompts, "prompts")
                    emit({"event": "prompts", "names": [p.name for p in prompts]})

                    for call in calls:
                        name = call["tool"]
                        try:
                            result = await session.call_tool(name, call.get("arguments") or {})
                        except McpError as e:
                            emit(
                                {
                                    "event": "call",
                                    "tool": name,
                                    "is_error": True,
                                    "structured": None,
                                    "text": e.error.message,
                                    "rpc_error": {"code": e.error.code, "message": e.error.message},
                                }
                            )
                            continue
                        text = "\n".join(
                            block.text for block in result.content if getattr(block, "type", None) == "text"
                        )
                        emit(
                            {
                                "event": "call",
                                "tool": name,
                                "is_error": bool(result.isError),
                                "structured": result.structuredContent,
                                "text": text,
                                "rpc_error": None,
                            }
                        )
    except BaseException as e:  # noqa: BLE001 - sorted out below
        if saw_401 and not isinstance(e, KeyboardInterrupt):
            raise Unauthorized() from e
        raise
    if saw_401:
        # A 401 that the SDK did not turn into an error (e.g. on the closing DELETE).
        raise Unauthorized()


def main() -> None:
    if len(sys.argv) != 3 or not sys.argv[1].startswith(("http://", "https://")):
        fail("usage: python_sdk_client.py URL TOKEN < calls.json", EXIT_USAGE)
    url, token = sys.argv[1], sys.argv[2]
    calls = read_calls()
    timeout = float(os.environ.get("MCP_CLIENT_TIMEOUT", "60"))

    async def bounded() -> None:
        with anyio.fail_after(timeout):
            await run(url, token, calls)

    try:
        anyio.run(bounded)
    except KeyboardInterrupt:
        fail("interrupted")
    except BaseException as e:  # noqa: BLE001 - every failure is reported the same way
        if isinstance(e, SystemExit):
            raise
        if is_unauthorized(e):
            emit({"event": "unauthorized", "status": 401})
            sys.exit(EXIT_UNAUTHORIZED)
        if any(isinstance(x, TimeoutError) for x in walk(e)):
            fail(f"no answer within MCP_CLIENT_TIMEOUT={timeout:g}s")
        if os.environ.get("MCP_CLIENT_DEBUG"):
            traceback.print_exception(e)
        fail(describe(e))


if __name__ == "__main__":
    main()
