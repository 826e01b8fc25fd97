"""Gunicorn settings for production (`make serve`), read from the environment.

Threaded workers (gthread): a long CSV export (about 25 s for 100,000 initiatives) ties up
one thread, not a whole process, and the worker's heartbeat keeps running meanwhile, so
`timeout` only ever kills a worker that is truly stuck.
"""

import os


def env_int(name, default):
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# One process per core, each with a few threads: Django releases the GIL while waiting on
# PostgreSQL, which is most of a request's time.
workers = env_int("WEB_CONCURRENCY", os.cpu_count() or 1)
worker_class = "gthread"
threads = env_int("GUNICORN_THREADS", 4)
timeout = env_int("GUNICORN_TIMEOUT", 120)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than the load balancer's idle timeout (60 s on most), so the balancer, not
# gunicorn, closes idle connections; otherwise it may send a request down a socket gunicorn
# is closing and answer 502.
keepalive = env_int("GUNICORN_KEEPALIVE", 75)
# Recycling workers after N requests is off: in the soak test (`make soak`) worker memory
# levels off at about 110 MB without it.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
# Trust X-Forwarded-* only from the load balancer's addresses.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's control socket (`gunicornc`) is not used; by default every gunicorn of one user
# shares one path, so two instances on a host would clash. GUNICORN_CONTROL_SOCKET enables it.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
# The heartbeat file on tmpfs: a container's disk may be slow or read-only.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Logs to stdout and stderr, for the platform to collect. Django logs each request with its
# request id (catalogue/settings.py); gunicorn's access log is off unless asked for.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
