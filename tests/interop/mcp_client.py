"""Drives a naftiko MCP server with the official Python SDK (PyPI `mcp`), for the interop tests.

Usage:
  mcp_client.py --url URL --mode 2026-07-28|legacy [--token TOKEN] --call NAME --args JSON
                [--error-call NAME --error-args JSON]
  mcp_client.py --stdio CMD [ARG...] --mode 2026-07-28|legacy --call ...

Prints one JSON object: the tools listed, the result of the call, and of the error call.
"""

import argparse
import asyncio
import json
import sys

import httpx2
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


def result_json(r):
    return {
        "isError": bool(r.is_error),
        "structured": r.structured_content,
        "text": [c.text for c in r.content if getattr(c, "type", None) == "text"],
    }


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url")
    p.add_argument("--stdio", nargs=argparse.REMAINDER)
    p.add_argument("--mode", default="auto")
    p.add_argument("--token")
    p.add_argument("--call")
    p.add_argument("--args", default="{}")
    p.add_argument("--error-call")
    p.add_argument("--error-args", default="{}")
    a = p.parse_args()
    if a.stdio:
        # Everything after --stdio is the command; our own flags come first.
        server = StdioServerParameters(command=a.stdio[0], args=a.stdio[1:])
    else:
        headers = {"Authorization": f"Bearer {a.token}"} if a.token else {}
        server = streamable_http_client(a.url, http_client=httpx2.AsyncClient(headers=headers, timeout=30))
    out = {}
    async with Client(server, mode=a.mode, raise_exceptions=True) as client:
        tools = await client.list_tools()
        out["tools"] = [t.name for t in tools.tools]
        out["schemas"] = {t.name: t.input_schema for t in tools.tools}
        if a.call:
            out["call"] = result_json(await client.call_tool(a.call, json.loads(a.args)))
        if a.error_call:
            out["error_call"] = result_json(await client.call_tool(a.error_call, json.loads(a.error_args)))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
