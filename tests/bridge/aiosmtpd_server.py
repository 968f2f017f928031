"""An SMTP submission server we did not write: aiosmtpd, with STARTTLS required and AUTH.

Usage: aiosmtpd_server.py CERT KEY USER PASSWORD OUTDIR
Prints {"port": N} once listening; writes each accepted message to OUTDIR/N.eml with its
envelope in OUTDIR/N.json; stops when standard input closes.
"""

import json
import os
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

cert, key, user, password, outdir = sys.argv[1:6]


class Handler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(outdir, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        return "250 2.0.0 Message accepted for delivery"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == user.encode()
        and auth_data.password == password.encode()
    )
    # handled=False: aiosmtpd sends the reply itself (535 on failure).
    return AuthResult(success=ok, handled=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
port = free_port()
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=port,
    server_hostname="localhost",
    tls_context=context,
    require_starttls=True,
    authenticator=authenticate,
    auth_required=True,
)
controller.start()
print(json.dumps({"port": port}), flush=True)
sys.stdin.read()
controller.stop()
