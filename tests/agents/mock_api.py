#!/usr/bin/env python3
"""A local stand-in for the AI vendors' streaming APIs, for the real-agent tests.

One server speaks the three wire formats the agents under test use:

  POST /v1/messages                                   Anthropic Messages (SSE)
  POST /v1/responses                                  OpenAI Responses (SSE)
  POST /v1/chat/completions                           OpenAI Chat Completions (SSE)
  POST /v1beta/models/MODEL:streamGenerateContent     Gemini (SSE, alt=sse)
  POST /v1beta/models/MODEL:generateContent           Gemini (one JSON reply)
  POST /v1beta/models/MODEL:countTokens               Gemini

The first reply of a conversation that offers the wanted tool asks the agent to
call it (its shell tool with --command, or an MCP tool by --tool NAME); once the
conversation carries that call's result, the reply ends the turn. Any other
request (titles, summaries, a "who speaks next" check) gets a short text.

Bounded: it stops by itself after --max-seconds, and calls the tool at most
--max-calls times. Every request is logged (one JSON line each) to --log.
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
CALLS = 0


def log(entry):
    if not ARGS.log:
        return
    with LOCK, open(ARGS.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def tool_wanted(names):
    """The offered tool to call: the MCP tool named --tool, or a shell tool."""
    if ARGS.tool:
        for n in names:
            if n == ARGS.tool or n.endswith("__" + ARGS.tool) or n.endswith("_" + ARGS.tool):
                return n
        return None
    for pref in ("Bash", "shell", "shell_command", "exec_command", "run_shell_command",
                 "local_shell", "bash"):
        if pref in names:
            return pref
    return None


def take_call():
    global CALLS
    with LOCK:
        if CALLS >= ARGS.max_calls:
            return False
        CALLS += 1
        return True


def shell_args(schema):
    """Arguments for a shell tool, shaped by its JSON schema."""
    props = (schema or {}).get("properties", {})
    if "command" in props:
        if props["command"].get("type") == "array":
            return {"command": ["bash", "-c", ARGS.command]}
        return {"command": ARGS.command}
    if "cmd" in props:
        return {"cmd": ARGS.command}
    return {"command": ARGS.command}


def call_args(name, schema):
    if ARGS.tool:
        return json.loads(ARGS.tool_args)
    args = shell_args(schema)
    props = (schema or {}).get("properties", {})
    if "description" in props and name == "Bash":
        args["description"] = "Run the requested command"
    return args


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # quiet: the log file says what came
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def sse_start(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, data, event=None):
        out = ""
        if event:
            out += "event: %s\n" % event
        out += "data: %s\n\n" % json.dumps(data)
        self.wfile.write(out.encode())
        self.wfile.flush()

    def reply_json(self, obj, code=200):
        raw = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        log({"method": "GET", "path": self.path})
        if self.path.startswith("/v1/models"):
            self.reply_json({"object": "list", "data": [{"id": "mock-model", "object": "model"}],
                             "models": [{"slug": "mock-model"}]})
            return
        self.reply_json({}, 404)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        req = self.body()
        path = self.path.split("?")[0]
        entry = {"method": "POST", "path": self.path}
        if ARGS.dump_requests:
            entry["request"] = req
        try:
            if path.endswith("/messages/count_tokens"):
                self.reply_json({"input_tokens": 10})
            elif path.endswith("/messages"):
                entry.update(self.anthropic(req))
            elif path.endswith("/responses"):
                entry.update(self.openai_responses(req))
            elif path.endswith("/chat/completions"):
                entry.update(self.openai_chat(req))
            elif ":countTokens" in path:
                self.reply_json({"totalTokens": 10})
            elif ":streamGenerateContent" in path:
                entry.update(self.gemini(req, stream=True))
            elif ":generateContent" in path:
                entry.update(self.gemini(req, stream=False))
            else:
                entry["unknown"] = True
                self.reply_json({}, 404)
        except (BrokenPipeError, ConnectionResetError):
            entry["client_gone"] = True
        log(entry)

    # ------------------------------------------------------------ Anthropic
    def anthropic(self, req):
        tools = {t.get("name"): t.get("input_schema") for t in req.get("tools") or []}
        msgs = req.get("messages") or []
        done = any(isinstance(m.get("content"), list) and
                   any(isinstance(c, dict) and c.get("type") == "tool_result" for c in m["content"])
                   for m in msgs if m.get("role") == "user")
        name = tool_wanted(list(tools))
        call = name is not None and not done and take_call()
        if not req.get("stream"):
            content = ([{"type": "tool_use", "id": "toolu_mock1", "name": name,
                         "input": call_args(name, tools[name])}] if call
                       else [{"type": "text", "text": "Done."}])
            self.reply_json({"id": "msg_mock", "type": "message", "role": "assistant",
                             "model": req.get("model", "mock"), "content": content,
                             "stop_reason": "tool_use" if call else "end_turn",
                             "stop_sequence": None,
                             "usage": {"input_tokens": 10, "output_tokens": 5}})
            return {"api": "anthropic", "tool": name if call else None, "offered": sorted(tools)}
        self.sse_start()
        self.sse({"type": "message_start",
                  "message": {"id": "msg_mock", "type": "message", "role": "assistant",
                              "model": req.get("model", "mock"), "content": [],
                              "stop_reason": None, "stop_sequence": None,
                              "usage": {"input_tokens": 10, "output_tokens": 1}}},
                 "message_start")
        if call:
            self.sse({"type": "content_block_start", "index": 0,
                      "content_block": {"type": "tool_use", "id": "toolu_mock1", "name": name,
                                        "input": {}}}, "content_block_start")
            self.sse({"type": "content_block_delta", "index": 0,
                      "delta": {"type": "input_json_delta",
                                "partial_json": json.dumps(call_args(name, tools[name]))}},
                     "content_block_delta")
        else:
            self.sse({"type": "content_block_start", "index": 0,
                      "content_block": {"type": "text", "text": ""}}, "content_block_start")
            self.sse({"type": "content_block_delta", "index": 0,
                      "delta": {"type": "text_delta", "text": "Done."}}, "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.sse({"type": "message_delta",
                  "delta": {"stop_reason": "tool_use" if call else "end_turn",
                            "stop_sequence": None},
                  "usage": {"output_tokens": 5}}, "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")
        return {"api": "anthropic", "tool": name if call else None, "offered": sorted(tools)}

    # ------------------------------------------------------------ OpenAI
    @staticmethod
    def openai_tools(req):
        out = {}
        for t in req.get("tools") or []:
            if t.get("type") == "function" and "function" in t:  # chat completions
                out[t["function"]["name"]] = t["function"].get("parameters")
            elif t.get("type") == "namespace":  # Codex: an MCP server's tools
                for sub in t.get("tools") or []:
                    out["%s__%s" % (t["name"], sub.get("name"))] = sub.get("parameters")
            elif t.get("name"):
                out[t["name"]] = t.get("parameters")
            elif t.get("type") == "local_shell":
                out["local_shell"] = None
        return out

    def openai_responses(self, req):
        tools = self.openai_tools(req)
        items = req.get("input") or []
        done = any(isinstance(i, dict) and i.get("type", "").endswith("call_output")
                   for i in items)
        name = tool_wanted(list(tools))
        call = name is not None and not done and take_call()
        rid = "resp_mock%d" % int(time.time() * 1000)
        self.sse_start()
        base = {"id": rid, "object": "response", "created_at": int(time.time()),
                "status": "in_progress", "model": req.get("model", "mock"), "output": []}
        self.sse({"type": "response.created", "sequence_number": 0, "response": base},
                 "response.created")
        if call:
            if name == "local_shell":
                item = {"type": "local_shell_call", "id": "lsh_mock1", "call_id": "call_mock1",
                        "status": "completed",
                        "action": {"type": "exec", "command": ["bash", "-c", ARGS.command]}}
            else:
                item = {"type": "function_call", "id": "fc_mock1", "call_id": "call_mock1",
                        "name": name, "status": "completed",
                        "arguments": json.dumps(call_args(name, tools[name]))}
                if "__" in name and name.startswith("mcp__"):
                    # A tool of a namespace is called by its own name in it.
                    item["namespace"], item["name"] = name.rsplit("__", 1)
        else:
            item = {"type": "message", "id": "msg_mock1", "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "Done.", "annotations": []}]}
        self.sse({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
                  "item": item}, "response.output_item.added")
        self.sse({"type": "response.output_item.done", "sequence_number": 2, "output_index": 0,
                  "item": item}, "response.output_item.done")
        done_resp = dict(base, status="completed", output=[item],
                         usage={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                                "input_tokens_details": {"cached_tokens": 0},
                                "output_tokens_details": {"reasoning_tokens": 0}})
        self.sse({"type": "response.completed", "sequence_number": 3, "response": done_resp},
                 "response.completed")
        return {"api": "openai-responses", "tool": name if call else None,
                "offered": sorted(tools)}

    def openai_chat(self, req):
        tools = self.openai_tools(req)
        done = any(m.get("role") == "tool" for m in req.get("messages") or [])
        name = tool_wanted(list(tools))
        call = name is not None and not done and take_call()
        self.sse_start()
        if call:
            delta = {"role": "assistant", "content": None,
                     "tool_calls": [{"index": 0, "id": "call_mock1", "type": "function",
                                     "function": {"name": name,
                                                  "arguments": json.dumps(
                                                      call_args(name, tools[name]))}}]}
        else:
            delta = {"role": "assistant", "content": "Done."}
        chunk = {"id": "chatcmpl-mock", "object": "chat.completion.chunk",
                 "created": int(time.time()), "model": req.get("model", "mock"),
                 "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        self.sse(chunk)
        chunk["choices"] = [{"index": 0, "delta": {},
                             "finish_reason": "tool_calls" if call else "stop"}]
        chunk["usage"] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        self.sse(chunk)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        return {"api": "openai-chat", "tool": name if call else None, "offered": sorted(tools)}

    # ------------------------------------------------------------ Gemini
    def gemini(self, req, stream):
        tools = {}
        for t in req.get("tools") or []:
            for d in t.get("functionDeclarations") or t.get("function_declarations") or []:
                tools[d.get("name")] = d.get("parameters") or d.get("parametersJsonSchema")
        contents = req.get("contents") or []
        done = any("functionResponse" in p for c in contents for p in c.get("parts") or [])
        name = tool_wanted(list(tools))
        call = name is not None and not done and take_call()
        if call:
            parts = [{"functionCall": {"name": name, "args": call_args(name, tools[name])}}]
        elif (req.get("generationConfig") or {}).get("responseMimeType") == "application/json":
            # A side query that wants JSON (who speaks next, loop checks).
            parts = [{"text": json.dumps({"reasoning": "The turn is over.",
                                          "next_speaker": "user",
                                          "complexity_reasoning": "A one-step task.",
                                          "complexity_score": 1,
                                          "model_choice": "flash"})}]
        else:
            parts = [{"text": "Done."}]
        resp = {"candidates": [{"content": {"role": "model", "parts": parts},
                                "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                  "totalTokenCount": 15},
                "modelVersion": "mock"}
        if stream:
            self.sse_start()
            self.sse(resp)
        else:
            self.reply_json(resp)
        return {"api": "gemini", "tool": name if call else None, "offered": sorted(tools)}


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port-file", required=True, help="where the listening port is written")
    p.add_argument("--command", default="true", help="what the shell tool is asked to run")
    p.add_argument("--tool", default="", help="call this (MCP) tool instead of the shell")
    p.add_argument("--tool-args", default="{}", help="its arguments, as JSON")
    p.add_argument("--max-calls", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=600)
    p.add_argument("--log", default="")
    p.add_argument("--dump-requests", action="store_true", help="log whole request bodies")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    threading.Timer(ARGS.max_seconds, server.shutdown).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
