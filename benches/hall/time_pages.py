#!/usr/bin/env python3
"""Times the hall's pages and their JSON twin against a running server, as a person
signed in would load them: p50/p99 of N loads each, in milliseconds (localhost, so the
figure is the server's time plus a loopback round trip).

usage: time_pages.py BASE USER PASSWORD N PATH [PATH ...]
A PATH starting with /api/ is fetched with a bearer token, any other with the session
cookie of a form login.
"""
import re
import statistics
import sys
import time

import requests


def signed_in(base, user, password):
    web = requests.Session()
    page = web.get(f"{base}/login")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    answer = web.post(f"{base}/login", data={"username": user, "password": password, "_csrf": csrf},
                      allow_redirects=False)
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:300])
    token = requests.post(f"{base}/api/v1/auth/login", json={"username": user, "password": password}).json()["token"]
    return web, {"Authorization": f"Bearer {token}"}


def main():
    base, user, password, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    web, bearer = signed_in(base, user, password)
    for path in sys.argv[5:]:
        api = path.startswith("/api/")
        timings = []
        for _ in range(n):
            started = time.perf_counter()
            answer = web.get(f"{base}{path}", headers=bearer if api else None, allow_redirects=False)
            timings.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        timings.sort()
        p99 = timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]
        detail = ""
        if api:
            detail = f"  total={answer.json()['total']}"
        print(f"{user:>10} {path:<48} p50 {statistics.median(timings):7.1f} ms  p99 {p99:7.1f} ms{detail}")


if __name__ == "__main__":
    main()
