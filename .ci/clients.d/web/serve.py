"""Static file server for .ci/clients' browser step, with one extra route.

    python3 serve.py PORT DIRECTORY REPORT_FILE

Serves DIRECTORY on 127.0.0.1:PORT. The page (app.js) POSTs its final DOM to /report when it
has finished (successfully or not); the body is written to REPORT_FILE (atomically, so a reader
never sees half of it). This replaces Chromium's --virtual-time-budget, which can end the page
between two requests: virtual time runs while no fetch is pending, so the dump could happen after
the projects call and before the tasks call had started.
"""

import functools
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    report_file = ""

    def do_POST(self):  # noqa: N802 (the stdlib's naming)
        if self.path != "/report":
            self.send_error(404)
            return
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        tmp = self.report_file + ".tmp"
        with open(tmp, "wb") as f:
            f.write(body)
        os.replace(tmp, self.report_file)
        self.send_response(204)
        self.end_headers()


def main():
    port, directory, report = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    Handler.report_file = report
    handler = functools.partial(Handler, directory=directory)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
