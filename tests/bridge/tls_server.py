"""A small SMTP responder over Python's ssl module, for the TLS tests.

Usage: tls_server.py MODE CERT KEY

MODE is one of:
  starttls  plain greeting, EHLO offers STARTTLS, then TLS with CERT and KEY
  refuse    EHLO offers STARTTLS, but STARTTLS is answered 454
  implicit  TLS from the first byte (like port 465), then the greeting
  plain     no TLS at all: greeting and EHLO without STARTTLS (a plain-text port)

It listens on 127.0.0.1 on a free port, prints {"port": N}, then one JSON line per event:
{"event": "line", "tls": false, "line": "EHLO ..."} for each line received (tls true once the
handshake is done), {"event": "handshake_failed", "error": "..."} when the client gave up.
"""

import json
import socket
import ssl
import sys


def emit(**event):
    print(json.dumps(event), flush=True)


def lines(conn):
    buffer = b""
    while True:
        try:
            chunk = conn.recv(4096)
        except (OSError, ssl.SSLError):
            return
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.rstrip(b"\r").decode("utf-8", "replace")


def handle(conn, mode, context):
    def say(text):
        conn.sendall(text.encode() + b"\r\n")

    tls = False
    if mode == "implicit":
        try:
            conn = context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError) as error:
            emit(event="handshake_failed", error=str(error))
            return
        tls = True
    say("220 relay.test ESMTP ready")
    while True:
        for line in lines(conn):
            emit(event="line", tls=tls, line=line)
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                offers = ["250-relay.test", "250-8BITMIME"]
                if mode in ("starttls", "refuse") and not tls:
                    offers.append("250-STARTTLS")
                offers.append("250 ENHANCEDSTATUSCODES")
                say("\r\n".join(offers))
            elif verb == "STARTTLS" and mode == "refuse":
                say("454 4.7.0 TLS not available due to temporary reason")
            elif verb == "STARTTLS" and mode == "starttls" and not tls:
                say("220 2.0.0 Ready to start TLS")
                try:
                    conn = context.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError) as error:
                    emit(event="handshake_failed", error=str(error))
                    return
                tls = True
                break  # read from the TLS socket from now on
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                return
            else:
                say("502 5.5.1 Not implemented here")
        else:
            return


def main():
    mode, cert, key = sys.argv[1:4]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    emit(port=server.getsockname()[1])
    while True:
        conn, _ = server.accept()
        with conn:
            handle(conn, mode, context)
        emit(event="closed")


if __name__ == "__main__":
    main()
