"""Drives an IMAP server with Python's imaplib, a client mailbridge did not write.

Reads a JSON plan on stdin and prints JSON results on stdout:

  plan    = {"host": "127.0.0.1", "port": N, "cafile": PATH, "timeout": SECONDS,
             "sessions": [[STEP, ...], ...]}
  results = {"sessions": [[RESULT, ...], ...]}

Each session connects with IMAP4_SSL (or, with "starttls": true in the plan, IMAP4 and then
STARTTLS), trusting only the CA in cafile (its first result, op
"connect", has the greeting in "welcome" and "capabilities"), then runs its steps in order,
going on after errors. A RESULT has "op", and either "typ" and "data" (imaplib's answer; each
datum is {"text": ...} for a line, or [{"text": ...}, {"base64": ...}] for a line with a
literal) or "error" (the exception class) and "detail". STEP is a list:

  ["call", NAME, ARGS...]     imaplib's method NAME (login, list, select, search, fetch, uid,
                              noop, logout, ...) with ARGS
  ["authenticate_plain", USER, PASSWORD]
  ["authenticate_xoauth2", USER, TOKEN]  XOAUTH2; "challenges" has each challenge decoded
                              (an error challenge is answered with an empty line)
  ["append", MAILBOX, BASE64]  APPENDs the message (bytes, base64 in the plan) to MAILBOX
  ["internaldate", DATUM_TEXT] parses an INTERNALDATE with imaplib.Internaldate2tuple into
                              "unix" (seconds)
  ["raw", TEXT, COUNT?]       sends TEXT (UTF-8, repeated COUNT times) on the socket as is,
                              then reads until the server closes: "text" is what it said

A session that starts with ["raw", ...] skips imaplib and opens a plain TLS socket.
"""

import base64
import imaplib
import json
import socket
import ssl
import sys
import time


def datum(item):
    if isinstance(item, tuple):
        return [datum(part) for part in item]
    if isinstance(item, bytes):
        if b"\n" in item or any(b < 32 and b not in (9, 13) for b in item):
            return {"base64": base64.b64encode(item).decode("ascii"),
                    "text": item.decode("utf-8", "replace")}
        return {"text": item.decode("utf-8", "replace")}
    if item is None:
        return None
    return {"text": str(item)}


def answer(typ, data):
    return {"typ": typ, "data": [datum(d) for d in data]}


def raw_session(plan, context, text, count):
    sock = socket.create_connection((plan["host"], plan["port"]), timeout=plan["timeout"])
    tls = context.wrap_socket(sock, server_hostname=plan["host"])
    received = b""
    # The greeting first, so what follows is the answer to what we send.
    while b"\r\n" not in received:
        chunk = tls.recv(4096)
        if not chunk:
            break
        received += chunk
    try:
        payload = text.encode("utf-8")
        for _ in range(count):
            tls.sendall(payload)
    except OSError:
        pass  # the server may close before all is sent; what it said is below
    closed = False
    try:
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                closed = True
                break
            received += chunk
    except (OSError, ssl.SSLError):
        closed = True
    tls.close()
    return {"text": received.decode("utf-8", "replace"), "closed": closed}


def run_step(client, step):
    op, args = step[0], step[1:]
    if op == "call":
        return answer(*getattr(client, args[0])(*args[1:]))
    if op == "authenticate_plain":
        user, password = args
        return answer(*client.authenticate(
            "PLAIN", lambda _challenge: ("\0%s\0%s" % (user, password)).encode("utf-8")))
    if op == "authenticate_xoauth2":
        user, token = args
        seen = []

        def respond(challenge):
            seen.append(challenge.decode("utf-8", "replace"))
            if len(seen) > 1:
                return b""
            return ("user=%s\x01auth=Bearer %s\x01\x01" % (user, token)).encode("utf-8")

        try:
            result = answer(*client.authenticate("XOAUTH2", respond))
        except imaplib.IMAP4.error as error:
            result = {"error": "error", "detail": str(error)}
        result["challenges"] = seen
        return result
    if op == "append":
        mailbox, message = args
        return answer(*client.append(mailbox, None, None, base64.b64decode(message)))
    if op == "internaldate":
        parsed = imaplib.Internaldate2tuple(args[0].encode("ascii"))
        return {"unix": None if parsed is None else int(time.mktime(parsed))}
    raise ValueError("unknown step %r" % (op,))


def run_session(plan, context, steps):
    if steps and steps[0][0] == "raw":
        step = steps[0]
        try:
            result = raw_session(plan, context, step[1], step[2] if len(step) > 2 else 1)
        except Exception as error:
            result = {"error": type(error).__name__, "detail": str(error)}
        result["op"] = "raw"
        return [result]
    results = []
    try:
        if plan.get("starttls"):
            client = imaplib.IMAP4(plan["host"], plan["port"], timeout=plan["timeout"])
            client.starttls(ssl_context=context)
        else:
            client = imaplib.IMAP4_SSL(plan["host"], plan["port"], ssl_context=context,
                                       timeout=plan["timeout"])
        results.append({"op": "connect", "welcome": client.welcome.decode("utf-8", "replace"),
                        "capabilities": list(client.capabilities)})
    except Exception as error:
        results.append({"op": "connect", "error": type(error).__name__, "detail": str(error)})
        return results
    for step in steps:
        try:
            result = run_step(client, step)
        except Exception as error:
            result = {"error": type(error).__name__, "detail": str(error)}
        result["op"] = step[0] if step[0] != "call" else step[1]
        results.append(result)
    try:
        client.shutdown()
    except Exception:
        pass
    return results


def main():
    plan = json.load(sys.stdin)
    context = ssl.create_default_context(cafile=plan["cafile"])
    sessions = [run_session(plan, context, steps) for steps in plan["sessions"]]
    json.dump({"sessions": sessions}, sys.stdout)


if __name__ == "__main__":
    main()
