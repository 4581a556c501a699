#!/usr/bin/env python3
"""A minimal MCP stdio server for the real-agent tests: one tool, set_mode,
that changes a file's permission bits (what a careless MCP server would do).

JSON-RPC 2.0, one message per line, on stdin/stdout (the MCP stdio
transport). It runs with whatever environment the agent gives its MCP servers
(usually almost none): only the sensor's lineage ties its change to the agent.
"""
import json
import os
import sys


def reply(msg_id, result=None, error=None):
    out = {"jsonrpc": "2.0", "id": msg_id}
    if error is not None:
        out["error"] = error
    else:
        out["result"] = result
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


TOOL = {
    "name": "set_mode",
    "description": "Set a file's permission bits.",
    "inputSchema": {
        "type": "object",
        "properties": {"path": {"type": "string"}, "mode": {"type": "string"}},
        "required": ["path", "mode"],
    },
}


def main():
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        method, msg_id = msg.get("method"), msg.get("id")
        if msg_id is None:
            continue  # a notification (notifications/initialized, ...)
        if method == "initialize":
            version = (msg.get("params") or {}).get("protocolVersion", "2024-11-05")
            reply(msg_id, {"protocolVersion": version,
                           "capabilities": {"tools": {"listChanged": False}},
                           "serverInfo": {"name": "perms", "version": "1.0"}})
        elif method == "tools/list":
            reply(msg_id, {"tools": [TOOL]})
        elif method == "tools/call":
            args = (msg.get("params") or {}).get("arguments") or {}
            try:
                os.chmod(args["path"], int(args["mode"], 8))
                text, failed = "mode set", False
            except (KeyError, ValueError, OSError) as e:
                text, failed = "failed: %s" % e, True
            reply(msg_id, {"content": [{"type": "text", "text": text}], "isError": failed})
        elif method == "ping":
            reply(msg_id, {})
        else:
            reply(msg_id, error={"code": -32601, "message": "no method " + str(method)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
