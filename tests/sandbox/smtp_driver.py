"""Drives an SMTP server with Python's smtplib, a client mailbridge did not write.

Reads a JSON plan on stdin and prints JSON results on stdout:

  plan    = {"host": "127.0.0.1", "cafile": PATH, "timeout": SECONDS,
             "sessions": [{"port": N, "implicit_tls": BOOL, "max_tls": "TLSv1_2"?,
                           "steps": [STEP, ...]}, ...]}
  results = {"sessions": [[RESULT, ...], ...]}

Each session opens a connection (its first result is the greeting, op "connect") and runs its
steps in order, going on after errors so a test can see what happens next. A RESULT has "op",
"ms" (elapsed), and "code" and "text" when the server replied, or "error" (the exception class)
and "detail". STEP is a list: [op, args...]:

  ["ehlo", name?] ["helo", name?] ["starttls"] ["quit"] ["close"] ["reply"]
  ["secure"]                       EHLO, STARTTLS, EHLO; adds "tls" (the TLS version)
  ["tls_version"]                  adds "tls"
  ["auth", MECH, USER, SECRET, initial_ok?]
                                   PLAIN/LOGIN take a password, XOAUTH2 a token; adds
                                   "challenges" (decoded server challenges)
  ["cmd", LINE]                    sends LINE + CRLF (UTF-8), reads one reply
  ["raw", TEXT]                    sends TEXT as is (UTF-8), reads nothing
  ["raw_repeat", TEXT, COUNT]      sends TEXT repeated COUNT times, reads nothing
  ["sendmail", FROM, [TO...], MESSAGE]
  ["send_message", SPEC]           builds an email.message.EmailMessage from SPEC: from, to,
                                   subject, text, html?, attachments [{filename, maintype,
                                   subtype, base64}], message_id? (default true), and sends it
                                   as send_message would; adds "size" and "base64" (the bytes
                                   sent, before dot-stuffing)
"""

import base64
import email.generator
import email.utils
import io
import json
import smtplib
import ssl
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid


def reply_result(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return {"code": code, "text": text}


def error_result(error):
    result = {"error": type(error).__name__, "detail": str(error)}
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        first = next(iter(error.recipients.values()))
        result.update(reply_result(first[0], first[1]))
    elif isinstance(error, smtplib.SMTPResponseException):
        result.update(reply_result(error.smtp_code, error.smtp_error))
    return result


def spec_address(header_value):
    return email.utils.parseaddr(header_value)[1]


def build_message(spec):
    message = EmailMessage()
    message["From"] = spec["from"]
    message["To"] = ", ".join(spec["to"])
    message["Subject"] = spec.get("subject", "")
    if spec.get("message_id", True):
        message["Message-ID"] = make_msgid(domain="mailbridge.test")
    message.set_content(spec.get("text", ""))
    if spec.get("html") is not None:
        message.add_alternative(spec["html"], subtype="html")
    for attachment in spec.get("attachments", []):
        message.add_attachment(
            base64.b64decode(attachment["base64"]),
            maintype=attachment["maintype"],
            subtype=attachment["subtype"],
            filename=attachment["filename"],
        )
    return message


def run_step(client, context, step):
    op, args = step[0], step[1:]
    if op == "ehlo":
        return reply_result(*client.ehlo(*args))
    if op == "helo":
        return reply_result(*client.helo(*args))
    if op == "starttls":
        result = reply_result(*client.starttls(context=context))
        result["tls"] = client.sock.version()
        return result
    if op == "secure":
        client.ehlo()
        client.starttls(context=context)
        result = reply_result(*client.ehlo())
        result["tls"] = client.sock.version()
        return result
    if op == "tls_version":
        return {"tls": client.sock.version()}
    if op == "auth":
        # As smtplib's own login() does: a client says EHLO before AUTH.
        client.ehlo_or_helo_if_needed()
        mechanism, user, secret = args[0], args[1], args[2]
        initial_ok = args[3] if len(args) > 3 else True
        challenges = []
        if mechanism == "XOAUTH2":
            sent = []

            def authobject(challenge=None):
                if challenge:
                    challenges.append(challenge.decode("utf-8", "replace"))
                if not sent:
                    sent.append(True)
                    return "user=%s\x01auth=Bearer %s\x01\x01" % (user, secret)
                # The XOAUTH2 spec: answer an error challenge with an empty line.
                return ""
        else:
            client.user, client.password = user, secret
            method = client.auth_plain if mechanism == "PLAIN" else client.auth_login

            def authobject(challenge=None):
                if challenge is not None:
                    challenges.append(challenge.decode("utf-8", "replace"))
                return method(challenge)
        try:
            result = reply_result(*client.auth(mechanism, authobject, initial_response_ok=initial_ok))
        except smtplib.SMTPException as error:
            result = error_result(error)
        result["challenges"] = challenges
        return result
    if op == "cmd":
        # Bytes, not putcmd: putcmd encodes as ASCII, and some tests send UTF-8 addresses.
        client.send((args[0] + "\r\n").encode("utf-8"))
        return reply_result(*client.getreply())
    if op == "raw":
        client.send(args[0].encode("utf-8"))
        return {}
    if op == "raw_repeat":
        client.send(args[0].encode("utf-8") * args[1])
        return {}
    if op == "reply":
        return reply_result(*client.getreply())
    if op == "sendmail":
        refused = client.sendmail(args[0], args[1], args[2].encode("utf-8"))
        return {"refused": {k: list(v) for k, v in refused.items()}}
    if op == "send_message":
        message = build_message(args[0])
        # What send_message would put on the wire, flattened here so the test can compare
        # the captured bytes with exactly these.
        buffer = io.BytesIO()
        email.generator.BytesGenerator(buffer).flatten(message, linesep="\r\n")
        wire = buffer.getvalue()
        client.sendmail(spec_address(args[0]["from"]), args[0]["to"], wire)
        return {"size": len(wire), "base64": base64.b64encode(wire).decode("ascii")}
    if op == "quit":
        return reply_result(*client.quit())
    if op == "close":
        client.close()
        return {}
    raise ValueError("unknown step %r" % (op,))


def make_context(plan, session):
    context = ssl.create_default_context(cafile=plan["cafile"])
    if session.get("max_tls"):
        context.maximum_version = getattr(ssl.TLSVersion, session["max_tls"])
    return context


def run_session(plan, session):
    context = make_context(plan, session)
    results = []
    started = time.monotonic()
    timeout = plan.get("timeout", 10)
    try:
        if session.get("implicit_tls"):
            client = smtplib.SMTP_SSL(context=context, timeout=timeout)
        else:
            client = smtplib.SMTP(timeout=timeout)
        # connect() alone leaves the host for TLS name checks empty; the constructor would
        # set it, but raises on a 421 greeting instead of returning it.
        client._host = plan["host"]
        result = reply_result(*client.connect(plan["host"], session["port"]))
        if session.get("implicit_tls"):
            result["tls"] = client.sock.version()
    except Exception as error:  # the greeting itself can be a refusal or a reset
        result = error_result(error)
        client = None
    result.update(op="connect", ms=(time.monotonic() - started) * 1000)
    results.append(result)
    for step in session["steps"]:
        started = time.monotonic()
        try:
            if client is None:
                raise smtplib.SMTPServerDisconnected("never connected")
            result = run_step(client, context, step)
        except Exception as error:
            result = error_result(error)
        result.update(op=step[0], ms=(time.monotonic() - started) * 1000)
        results.append(result)
    if client is not None:
        try:
            client.close()
        except Exception:
            pass
    return results


def main():
    plan = json.load(sys.stdin)
    sessions = [run_session(plan, session) for session in plan["sessions"]]
    json.dump({"sessions": sessions}, sys.stdout)


if __name__ == "__main__":
    main()
