"""Drives the AgentTier MCP server with the official MCP Python SDK (a client not written in Rust).

Usage: python3 mcp_client.py http://127.0.0.1:PORT/mcp
Run by the Rust test `python_sdk_client` against a server in front of a local router; it exits
non-zero on the first failed check and prints how many checks passed.
"""

import asyncio
import base64
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def body(result):
    return json.loads(result.content[0].text)


async def main(url):
    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.server_info.name == "agenttier", f"server name: {init.server_info}")

            tools = {t.name: t for t in (await session.list_tools()).tools}
            check(len(tools) == 57, f"57 tools, got {len(tools)}")
            check("sandbox_id" in tools["sandbox_run_command"].input_schema["properties"], "schema of run_command")
            check(tools["sandbox_status"].annotations.read_only_hint is True, "read-only annotation")
            check(tools["sandbox_terminate"].annotations.destructive_hint is True, "destructive annotation")

            created = await session.call_tool("sandbox_create", {"template": "general-coding", "name": "py"})
            check(not created.is_error and body(created)["sandbox_id"] == "py", f"create: {created}")

            seen = []

            async def on_progress(progress, total, message):
                seen.append((progress, total, message))

            waited = await session.call_tool(
                "sandbox_wait", {"sandbox_id": "py", "timeout": 60}, progress_callback=on_progress
            )
            check(not waited.is_error and body(waited)["status"] == "Running", f"wait: {waited}")
            check(any(m and m.startswith("phase") for _, _, m in seen), f"wait progress: {seen}")

            seen.clear()
            ran = await session.call_tool(
                "sandbox_run_command",
                {"sandbox_id": "py", "command": "sleep 1.5; echo from-python", "timeout": 30},
                progress_callback=on_progress,
            )
            out = body(ran)
            check(not ran.is_error and out["stdout"] == "from-python\n" and out["exit_code"] == 0, f"run: {out}")
            check(ran.structured_content == out, "structured content mirrors the text")
            check(len(seen) >= 1, f"command progress: {seen}")

            raw = bytes([0, 1, 2, 254, 255])
            wrote = await session.call_tool(
                "file_write",
                {"sandbox_id": "py", "path": "/workspace/b.bin", "content": base64.b64encode(raw).decode(), "encoding": "base64"},
            )
            check(not wrote.is_error, f"write: {wrote}")
            read_back = body(await session.call_tool("file_read", {"sandbox_id": "py", "path": "/workspace/b.bin"}))
            check(read_back["encoding"] == "base64" and base64.b64decode(read_back["content"]) == raw, f"read: {read_back}")

            resource = await session.read_resource("agenttier://py/workspace/b.bin")
            check(base64.b64decode(resource.contents[0].blob) == raw, f"blob resource: {resource}")
            listed = await session.list_resources()
            check(any(str(r.uri) == "agenttier://py/workspace/b.bin" for r in listed.resources), "resource listed")

            missing = await session.call_tool("sandbox_status", {"sandbox_id": "nope"})
            err = body(missing)
            check(missing.is_error and err["error"] == "not_found" and err["hint"], f"typed error: {err}")
            bad = await session.call_tool("sandbox_list", {"status": "Sleeping"})
            check(bad.is_error and body(bad)["error"] == "invalid_arguments", f"bad arguments: {bad}")

            prompts = await session.list_prompts()
            check([p.name for p in prompts.prompts] == ["sandbox_task", "agent_deploy"], "prompts")
            prompt = await session.get_prompt("sandbox_task", {"task": "say hi"})
            check("sandbox_terminate" in prompt.messages[0].content.text, "prompt text")

            gone = await session.call_tool("sandbox_terminate", {"sandbox_id": "py"})
            check(body(gone) == {"sandbox_id": "py", "status": "terminated"}, f"terminate: {gone}")
    print(f"python mcp client: {checks} checks passed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
