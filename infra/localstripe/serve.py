"""localstripe (a stateful local Stripe) on 127.0.0.1 only, for the local stack and the tests.

localstripe's own `start()` binds every interface (`::`) and pickles its whole store to
/tmp/localstripe.pickle after every write (shared by every stack on the machine, and slower with
every object). This starts the same aiohttp app on loopback, in memory, and says when it listens.
Usage: serve.py PORT
"""
import socket
import sys

from aiohttp import web

import localstripe.resources as resources

resources.Store.dump_to_disk = lambda self: None  # in memory only, like the other emulators

from localstripe.server import app  # noqa: E402  (after the patch: the app imports the store)


def main():
    port = int(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    print(f"localstripe listening on 127.0.0.1:{port}", flush=True)
    web.run_app(app, sock=sock, print=None)


if __name__ == "__main__":
    main()
