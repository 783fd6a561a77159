#!/usr/bin/env python3
"""Write everything a running tracker's API says, as one canonical JSON document.

    python3 scripts/api_snapshot.py http://127.0.0.1:8765 snapshot.json

The smoke test takes one snapshot of the original database and one of the
restored backup, and compares them byte for byte. It reads every page of
/api/recommendations/, each item's detail (with its ETag), status changes and
evidence, the change feed and the vocabularies. Standard library only;
requests are sent as the TLS proxy would send them (X-Forwarded-Proto: https).
With API_TOKEN set, requests carry that token, so that the API's rate limit for
signed-in users (rather than the anonymous one) applies.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

MAX_PAGES = 1000  # bounds the walk through a paginated list


class Api:
    def __init__(self, base: str) -> None:
        if not base.startswith(("http://", "https://")):
            raise SystemExit(f"not an http(s) address: {base}")
        self.base = base.rstrip("/")

    def get(self, path: str) -> tuple[int, dict[str, str], object]:
        """GET a path (or an absolute URL of this server); return status, headers and parsed JSON."""
        parts = urllib.parse.urlsplit(path)
        local = urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
        headers = {"Accept": "application/json", "X-Forwarded-Proto": "https"}
        if os.environ.get("API_TOKEN"):
            headers["Authorization"] = f"Token {os.environ['API_TOKEN']}"
        request = urllib.request.Request(self.base + local, headers=headers)  # noqa: S310 - scheme checked
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - scheme checked
                status, headers, body = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, dict(exc.headers), exc.read()
        try:
            data = json.loads(body)
        except ValueError:
            data = body.decode("utf-8", "replace")[:200]
        return status, headers, data

    def walk(self, path: str) -> tuple[int, list | object]:
        """Return every result of a paginated list (or the body of an unpaginated one)."""
        status, _, data = self.get(path)
        if status != 200 or not isinstance(data, dict) or "results" not in data:
            return status, data
        results = list(data["results"])
        for _ in range(MAX_PAGES):
            if not data.get("next"):
                return status, results
            status, _, data = self.get(data["next"])
            if status != 200:
                raise SystemExit(f"{data}: page answered {status}")
            results.extend(data["results"])
        raise SystemExit(f"{path}: more than {MAX_PAGES} pages")


def snapshot(api: Api) -> dict:
    status, items = api.walk("/api/recommendations/?page_size=100")
    if status != 200:
        raise SystemExit(f"/api/recommendations/ answered {status}: {items}")
    shot: dict = {"recommendations": items, "detail": {}}
    for item in items:
        code = item["code"]
        base = f"/api/recommendations/{urllib.parse.quote(code)}/"
        status, headers, detail = api.get(base)
        shot["detail"][code] = {
            "status": status,
            "etag": headers.get("ETag"),
            "body": detail,
            "status_changes": api.walk(base + "status-changes/"),
            "evidence": api.walk(base + "evidence/"),
        }
    for path in (
        "/api/changes/?since=1900-01-01T00:00:00Z",
        "/api/themes/",
        "/api/owners/",
        "/api/sources/",
        "/api/statuses/",
    ):
        shot[path] = api.walk(path)
    return shot


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    shot = snapshot(Api(sys.argv[1]))
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(shot, out, indent=1, sort_keys=True, ensure_ascii=False)
        out.write("\n")
    print(f"{len(shot['recommendations'])} items, {len(shot['detail'])} details written to {sys.argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
