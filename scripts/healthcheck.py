#!/usr/bin/env python3
"""Probe the tracker's /healthz as a load balancer would; exit 0 when it answers 200.

The Docker image's HEALTHCHECK and docker-compose.yml run it; a service
manager or a monitoring script may too. Standard library only: the slim image
has no curl, and a probe should not load Django.

Django answers only to the host names in ALLOWED_HOSTS, so the probe sends the
first of them as its Host header (and X-Forwarded-Proto: https, as the TLS proxy
would; /healthz answers plain HTTP too).

Environment:
    HEALTHCHECK_URL      default http://127.0.0.1:PORT/healthz, PORT from GUNICORN_BIND (default 8000)
    HEALTHCHECK_TIMEOUT  seconds, default 5
    ALLOWED_HOSTS        as for the tracker
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe_url() -> str:
    if os.environ.get("HEALTHCHECK_URL"):
        return os.environ["HEALTHCHECK_URL"]
    port = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").rpartition(":")[2] or "8000"
    return f"http://127.0.0.1:{port}/healthz"


def host_header() -> str:
    """Return a Host header that Django's ALLOWED_HOSTS lets in."""
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0] if hosts else "localhost"
    if host == "*":
        return "localhost"
    return host.lstrip(".")  # ".example.org" allows example.org and its subdomains


def main() -> int:
    url = probe_url()
    if not url.startswith(("http://", "https://")):
        print(f"HEALTHCHECK_URL must be an http(s) address, not {url!r}", file=sys.stderr)
        return 2
    headers = {"Host": host_header(), "X-Forwarded-Proto": "https"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    timeout = float(os.environ.get("HEALTHCHECK_TIMEOUT", "5"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            body = response.read(500).decode("utf-8", "replace")
            print(f"{url}: {response.status} {body}")
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"{url}: {exc.code} {exc.read(500).decode('utf-8', 'replace')}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: no answer ({exc})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
