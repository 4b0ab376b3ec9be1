"""gunicorn settings for a host serving the model registry: copy this file next to the app and
run ``gunicorn -c gunicorn.conf.py "yourapp:create_app()"``.

Environment variables override the numbers: ``GUNICORN_BIND``, ``GUNICORN_WORKERS``,
``GUNICORN_THREADS``, ``GUNICORN_TIMEOUT``, ``GUNICORN_KEEPALIVE``. docs/operations.md says
why each value is what it is.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threads keep a slow artifact upload from blocking quick API calls. Every request in flight
# holds one database connection: size the pool to workers x threads.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# No keep-alive: every response carries "Connection: close", so a client never sends a request
# on a connection the server is closing for idleness at that very moment. That race makes the
# request fail with "Connection reset by peer" (or "Remote end closed connection"), and the
# mlflow client (3.18 and later) does not retry a create call after it. A new TCP connection
# per call costs well under a millisecond on a local network. Behind a reverse proxy that keeps
# connections to gunicorn open, set this above the proxy's idle timeout for them instead
# (nginx: keepalive_timeout in the upstream block, 60 s by default), so that the proxy,
# which retries on a fresh connection, is always the side that closes first.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 0))

# Above the longest artifact transfer you expect: uploads and downloads are streamed.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 300))
graceful_timeout = 30

# Import the app once in the master: workers start faster and share memory. The registry opens
# no database connection at import time, so forking is safe.
preload_app = True
