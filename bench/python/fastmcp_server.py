"""FastMCP's `from_openapi` serving bench/fixtures/item-openapi.json, the peer of naftiko's MCP
adapter in bench/src/bin/mcp-tools.rs: stateless Streamable HTTP with JSON responses at /mcp.

Usage: fastmcp_server.py OPENAPI_JSON UPSTREAM_BASE_URL PORT
"""

import asyncio
import json
import sys

import httpx2
from fastmcp import FastMCP


def main() -> None:
    spec_path, upstream, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    spec["servers"] = [{"url": upstream}]
    client = httpx2.AsyncClient(base_url=upstream, timeout=30.0)
    mcp = FastMCP.from_openapi(spec, client=client, name="item")
    asyncio.run(
        mcp.run_http_async(
            show_banner=False,
            host="127.0.0.1",
            port=port,
            path="/mcp",
            log_level="warning",
            json_response=True,
            stateless_http=True,
        )
    )


if __name__ == "__main__":
    main()
