#!/usr/bin/env python3
"""Checks that the official Python SDK (``pip install agenttier==0.8.1``) works unchanged
against ``agenttier-router``: the README flow with the sync and the async client, once against
``serve --dev-auth`` and once against a key-protected router (key from ``keys create``), plus
the typed error mapping, and agent mode (configure, invoke, invoke_stream, invoke_cancel).

Not part of ``cargo test``. Run it by hand:

    cargo build -p agenttier-router
    python3 -m venv /tmp/pyvenv && /tmp/pyvenv/bin/pip install agenttier==0.8.1
    /tmp/pyvenv/bin/python crates/agenttier-router/tests/python_sdk_check.py [path/to/agenttier-router]

The router binary defaults to ``$AGENTTIER_ROUTER_BIN`` or ``target/debug/agenttier-router``.
"""

import asyncio
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import agenttier
from agenttier import (
    AgentTierClient,
    AsyncAgentTierClient,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PolicyViolationError,
)
from agenttier.auth import APIKeyAuth

ROOT = Path(__file__).resolve().parents[3]
BIN = (
    sys.argv[1]
    if len(sys.argv) > 1
    else os.environ.get("AGENTTIER_ROUTER_BIN", str(ROOT / "target/debug/agenttier-router"))
)
POLL = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_router(data_dir: str, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTIER_")}
    proc = subprocess.Popen(
        [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir,
         "--start-delay", "200ms", "--log-level", "warn", *extra],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz").text == "ok":
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("router did not start")


class Upstream(http.server.BaseHTTPRequestHandler):
    """A stand-in for an app running in the sandbox, to check the preview proxy."""

    seen_headers: list = []

    def do_GET(self):  # noqa: N802
        Upstream.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
        body = b"preview ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"  ok  {what}")


def sync_flow(url: str, auth, label: str, expect_sub: str, key: str = "") -> None:
    print(f"[{label}] sync client")
    up = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=up.serve_forever, daemon=True).start()
    up_port = up.server_address[1]
    with AgentTierClient(api_url=url + "/", auth=auth) as client:
        me = client.current_user()
        check(me.sub == expect_sub and isinstance(me.groups, list), f"current_user: {me.sub} groups={me.groups}")
        templates = {t.name: t for t in client.list_templates()}
        check({"general-coding", "agent-python"} <= set(templates), f"list_templates: {sorted(templates)}")
        check(templates["agent-python"].spec["mode"] == "agent", "agent template has spec.mode agent")
        check(client.get_template("general-coding").name == "general-coding", "get_template")

        sb = client.create_sandbox(template="general-coding", name="py-sync", idle_timeout="30m")
        summary = sb.wait_until_running(timeout=30, poll_interval=POLL)
        check(summary.status == "Running", "create_sandbox + wait_until_running")
        check(client.get_sandbox("py-sync").id == "py-sync", "get_sandbox")
        check([s.name for s in client.list_sandboxes(status="Running")] == ["py-sync"], "list_sandboxes(status=Running)")
        check(client.list_sandboxes(namespace="elsewhere") == [], "list_sandboxes(namespace=...) empty list")

        r = sb.exec("echo hello; echo oops >&2; exit 3")
        check((r.stdout, r.stderr, r.exit_code) == ("hello\n", "oops\n", 3), f"exec: {r}")
        r = sb.exec("sleep 5", timeout=1)
        check(r.exit_code == -1, "exec timeout → exit_code -1")
        sb.exec("echo persisted > /workspace/state.txt || echo persisted > \"$WORKSPACE/state.txt\"")

        fp = sb.forward_port(up_port)
        check(fp.port == up_port and fp.internal_url == f"http://127.0.0.1:{up_port}", f"forward_port: {fp}")
        check([p.port for p in sb.list_ports()] == [up_port], "list_ports")
        headers = {"X-API-Key": key} if key else {}
        resp = httpx.get(fp.preview_url + "index.html", headers=headers)
        check(resp.status_code == 200 and resp.text == "preview ok", "preview proxy reaches the app")
        check("x-api-key" not in Upstream.seen_headers[-1], "preview proxy strips X-API-Key")
        sb.remove_port(up_port)
        check(sb.list_ports() == [], "remove_port")

        sb.stop()
        check(sb.status().status == "Stopped", "stop")
        try:
            sb.stop()
            check(False, "stop twice raises ConflictError")
        except ConflictError as e:
            check("cannot stop sandbox in phase Stopped" in str(e), "stop twice → ConflictError")
        try:
            sb.exec("true")
            check(False, "exec on stopped raises")
        except ConflictError:
            check(True, "exec on stopped → ConflictError")
        sb.resume()
        sb.wait_until_running(timeout=30, poll_interval=POLL)
        r = sb.exec("cat /workspace/state.txt 2>/dev/null || cat \"$WORKSPACE/state.txt\"")
        check(r.stdout == "persisted\n", "resume keeps the workspace")

        try:
            client.create_sandbox(template="general-coding", name="py-sync")
            check(False, "duplicate raises")
        except ConflictError:
            check(True, "duplicate name → ConflictError")
        try:
            client.create_sandbox(template="no-such-template", name="py-x")
            check(False, "unknown template raises")
        except NotFoundError:
            check(True, "unknown template → NotFoundError")

        sb.terminate()
        try:
            client.get_sandbox("py-sync")
            check(False, "get after terminate raises")
        except NotFoundError:
            check(True, "terminate → then NotFoundError")
    up.shutdown()


async def async_flow(url: str, auth, label: str, expect_sub: str) -> None:
    print(f"[{label}] async client")
    async with AsyncAgentTierClient(api_url=url, auth=auth) as client:
        me = await client.current_user()
        check(me.sub == expect_sub, f"current_user: {me.sub}")
        check(len(await client.list_templates()) >= 2, "list_templates")
        sb = await client.create_sandbox(template="general-coding", name="py-async")
        await sb.wait_until_running(timeout=30, poll_interval=POLL)
        results = await asyncio.gather(*(sb.exec(f"echo {i}") for i in range(8)))
        check([r.stdout for r in results] == [f"{i}\n" for i in range(8)], "8 concurrent execs")
        got = await asyncio.gather(*(client.get_sandbox("py-async") for _ in range(20)))
        check(all(s.id == "py-async" for s in got), "20 concurrent get_sandbox")
        fp = await sb.forward_port(3000)
        check(fp.port == 3000 and fp.preview_url.endswith("/preview/3000/"), "forward_port")
        check([p.port for p in await sb.list_ports()] == [3000], "list_ports")
        await sb.remove_port(3000)
        await sb.stop()
        check((await sb.status()).status == "Stopped", "stop")
        await sb.resume()
        await sb.wait_until_running(timeout=30, poll_interval=POLL)
        check((await sb.exec("echo back")).stdout == "back\n", "resume + exec")
        await sb.terminate()
        try:
            await client.get_sandbox("py-async")
            check(False, "get after terminate raises")
        except NotFoundError:
            check(True, "terminate → then NotFoundError")

ECHO_AGENT = "#!/bin/sh\necho \"args:$*\"\ncat\necho\necho to-stderr >&2\nprintf tail\n"


def agent_sync(url: str, auth, label: str) -> None:
    print(f"[{label}] sync agent mode")
    with AgentTierClient(api_url=url, auth=auth) as client:
        sb = client.create_sandbox(template="agent-python", name="py-agent")
        sb.wait_until_running(timeout=30, poll_interval=POLL)
        lines = []
        res = sb.agent.configure(
            files=[{"path": "/workspace/agent.sh", "content": ECHO_AGENT},
                   ("/workspace/blob.bin", bytes([0, 159, 146, 150]))],
            install_command=["sh", "-c", "chmod +x /workspace/agent.sh && echo installed"],
            entrypoint=["/workspace/agent.sh"],
            on_log=lambda stream, line: lines.append((stream, line)),
        )
        check(not res.skipped and res.install_exit_code == 0 and len(res.install_command_hash) == 64,
              f"configure: {res}")
        check(res.last_configured_at is not None and res.entrypoint == ["/workspace/agent.sh"], "configure result fields")
        check(("stdout", "installed") in lines and any("uploading /workspace/blob.bin" in l for _, l in lines),
              "configure on_log gets upload and install lines")
        check(sb.agent.configure(
            files=[{"path": "/workspace/agent.sh", "content": ECHO_AGENT},
                   ("/workspace/blob.bin", bytes([0, 159, 146, 150]))],
            install_command=["sh", "-c", "chmod +x /workspace/agent.sh && echo installed"],
            entrypoint=["/workspace/agent.sh"]).skipped, "configure again → skipped")
        r = sb.agent.invoke({"task": "sum"})
        check((r.stdout, r.stderr, r.exit_code, r.reason) == ('args:\n{"task": "sum"}\ntail', "to-stderr", 0, "completed"),
              f"invoke(dict): {r}")
        check(r.invoke_id.startswith("inv-") and len(r.invoke_id) == 28, "invoke id")
        r = sb.agent.invoke(prompt="what's up?")
        check(r.stdout == "args:--prompt=what's up?\nwhat's up?\ntail", f"invoke(prompt=): {r.stdout!r}")
        r = sb.agent.invoke(b"raw bytes")
        check(r.stdout == "args:\nraw bytes\ntail", "invoke(bytes)")

        sb.agent.configure(entrypoint=["seq", "1", "20000"])
        got = [e.data["data"] for e in sb.agent.invoke_stream() if e.event == "log"]
        check(got == [str(i) for i in range(1, 20001)], "invoke_stream: 20 000 lines in order")
        sb.agent.configure(entrypoint=["sh", "-c", "echo begun; sleep 30"])
        events = []
        for e in sb.agent.invoke_stream(invoke_timeout="20s"):
            events.append(e)
            if e.event == "log" and e.data["data"] == "begun":
                sb.agent.invoke_cancel(events[0].data["invokeId"])
        check(events[-1].event == "exit" and events[-1].data["reason"] == "canceled"
              and events[-1].data["exitCode"] == -1, f"invoke_cancel mid-stream: {events[-1]}")
        try:
            sb.agent.invoke_cancel(events[0].data["invokeId"])
            check(False, "cancel of a finished invoke raises")
        except NotFoundError:
            check(True, "cancel of a finished invoke → NotFoundError")
        r = sb.agent.invoke(invoke_timeout="300ms")
        check((r.reason, r.exit_code) == ("timeout", -1), "invoke_timeout lowers the cap")
        sb.terminate()


async def agent_async(url: str, auth, label: str) -> None:
    print(f"[{label}] async agent mode")
    async with AsyncAgentTierClient(api_url=url, auth=auth) as client:
        sb = await client.create_sandbox(template="agent-python", name="py-agent-async")
        await sb.wait_until_running(timeout=30, poll_interval=POLL)
        res = await sb.agent.configure(files=[("/workspace/agent.sh", ECHO_AGENT.encode())],
                                       install_command=["chmod", "+x", "/workspace/agent.sh"],
                                       entrypoint=["/workspace/agent.sh"])
        check(res.install_exit_code == 0, "async configure")
        results = await asyncio.gather(*(sb.agent.invoke(f"n{i}") for i in range(4)))
        check([r.stdout for r in results] == [f"args:\nn{i}\ntail" for i in range(4)], "4 concurrent async invokes")
        events = [e async for e in sb.agent.invoke_stream("streamed")]
        check([e.event for e in events][0] == "start" and events[-1].event == "exit", "async invoke_stream start…exit")
        await sb.agent.configure(entrypoint=["sh", "-c", "echo begun; sleep 30"])
        first = None
        async for e in sb.agent.invoke_stream():
            if e.event == "start":
                first = e.data["invokeId"]
            if e.event == "log":
                await sb.agent.invoke_cancel(first)
            last = e
        check(last.event == "exit" and last.data["reason"] == "canceled", "async invoke_cancel")
        await sb.terminate()


def main() -> None:
    print(f"agenttier {agenttier.__version__} against {BIN}")
    with tempfile.TemporaryDirectory() as dev_dir:
        proc, url = start_router(dev_dir, "--dev-auth")
        try:
            os.environ.pop("AGENTTIER_API_KEY", None)
            os.environ.pop("AGENTTIER_TOKEN", None)
            # No auth at all (the SDK's fallback) works against a dev-auth router.
            sync_flow(url, None, "dev-auth", "dev-user")
            asyncio.run(async_flow(url, None, "dev-auth", "dev-user"))
            agent_sync(url, None, "dev-auth")
            asyncio.run(agent_async(url, None, "dev-auth"))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        check(proc.returncode == 0, "dev-auth router exits cleanly on SIGTERM")

    with tempfile.TemporaryDirectory() as key_dir:
        key = subprocess.run([BIN, "keys", "create", "--name", "py-user", "--data-dir", key_dir],
                             check=True, capture_output=True, text=True).stdout.strip()
        other = subprocess.run([BIN, "keys", "create", "--name", "other", "--data-dir", key_dir],
                               check=True, capture_output=True, text=True).stdout.strip()
        policy = Path(key_dir) / "policy.json"
        policy.write_text('{"maxSandboxesPerUser": 2, "maxTimeout": "1h"}')
        proc, url = start_router(key_dir, "--policy", str(policy))
        try:
            print("[keys] unauthenticated and wrong-key calls")
            os.environ.pop("AGENTTIER_API_KEY", None)
            for bad in (None, APIKeyAuth("atk_wrong")):
                try:
                    with AgentTierClient(api_url=url, auth=bad) as c:
                        c.list_sandboxes()
                    check(False, "401 expected")
                except AuthenticationError:
                    check(True, f"{'no credentials' if bad is None else 'bad key'} → AuthenticationError")
            os.environ["AGENTTIER_API_KEY"] = key
            with AgentTierClient(api_url=url) as c:
                check(c.current_user().sub == "py-user", "AGENTTIER_API_KEY from the environment")
            os.environ.pop("AGENTTIER_API_KEY")
            auth = APIKeyAuth(key)
            sync_flow(url, auth, "api-key", "py-user", key)
            asyncio.run(async_flow(url, auth, "api-key", "py-user"))
            agent_sync(url, auth, "api-key")
            print("[keys] ownership and governance")
            with AgentTierClient(api_url=url, auth=auth) as mine, \
                    AgentTierClient(api_url=url, auth=APIKeyAuth(other)) as theirs:
                sb = mine.create_sandbox(template="general-coding", name="py-owned")
                sb2 = mine.create_sandbox(template="general-coding", name="py-owned2")
                try:
                    theirs.get_sandbox("py-owned")
                    check(False, "other user must not see it")
                except NotFoundError:
                    check(True, "another user's sandbox → NotFoundError")
                check(theirs.list_sandboxes() == [], "another user's list is empty")
                try:
                    mine.create_sandbox(template="general-coding", name="py-second", timeout="2h")
                    check(False, "policy violation expected")
                except PolicyViolationError as e:
                    codes = sorted(v["code"] if isinstance(v, dict) else v.code for v in e.violations)
                    check(codes == ["timeout_exceeded", "user_quota_exceeded"], f"PolicyViolationError codes {codes}")
                sb.terminate()
                sb2.terminate()
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        check(proc.returncode == 0, "key-protected router exits cleanly on SIGTERM")
    print("python SDK check: all passed")


if __name__ == "__main__":
    main()
