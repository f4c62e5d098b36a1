"""A real SMTP server on loopback for the mail tests (aiosmtpd).

    python3 smtp_sink.py HOST PORT DIR

Rejects recipients whose address starts with `rejected-` (550), accepts every other message and writes it to DIR as <n>.json ({mail_from, rcpt_tos, from, to,
subject, message_id, content_type, text, html}) next to the raw <n>.eml, then prints
"ready" once listening. Runs until stdin closes or SIGTERM.
"""

import email
import email.policy
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Recipients named rejected-... get a permanent rejection.
        if address.startswith("rejected-"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "content_type": msg.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        with self.lock:
            n = len([f for f in os.listdir(self.directory) if f.endswith(".json")]) + 1
            with open(os.path.join(self.directory, f"{n}.eml"), "wb") as f:
                f.write(raw)
            tmp = os.path.join(self.directory, f"{n}.json.tmp")
            with open(tmp, "w") as f:
                json.dump(record, f)
            os.rename(tmp, os.path.join(self.directory, f"{n}.json"))
        return "250 OK"


def main():
    host, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Sink(directory), hostname=host, port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
