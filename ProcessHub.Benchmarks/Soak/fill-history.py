#!/usr/bin/env python3
"""What a user's histories make a hub keep: PROCESSES processes of one user, REPORTS progress reports each with a
DETAIL-character `detail`, then a compacting GC (POST /api/admin/reclaim), whose answer (heap_bytes, resident_bytes)
is printed. docs/reliability.md ("Item 11") has the command around it.

usage: fill-history.py PORT USER_TOKEN ADMIN_TOKEN [PROCESSES=10] [REPORTS=1000] [DETAIL=4000]
"""
import http.client
import json
import sys
import threading


def call(connection, method, path, token, body=None):
    headers = {"Authorization": "Bearer " + token}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def drive(port, token, reports, detail, failures):
    # One keep-alive connection per process, one report in flight, as a worker sends them.
    connection = http.client.HTTPConnection("127.0.0.1", port)
    status, body = call(connection, "POST", "/api/processes", token, {"process_type": "fill", "total": reports})
    if status != 201:
        failures.append(f"start: {status} {body[:200]!r}")
        return
    process_id = json.loads(body)["process_id"]
    for current in range(1, reports + 1):
        status, body = call(connection, "POST", f"/api/processes/{process_id}/progress", token,
                            {"current": current, "total": reports, "detail": detail})
        if status != 200:
            failures.append(f"report {current}: {status} {body[:200]!r}")
            return


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    port, user_token, admin_token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    given = [int(argument) for argument in sys.argv[4:7]]
    processes, reports, detail_length = given + [10, 1000, 4000][len(given):]
    failures = []
    workers = [threading.Thread(target=drive, args=(port, user_token, reports, "x" * detail_length, failures)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        sys.exit("fill-history: " + "; ".join(failures[:5]))
    status, body = call(http.client.HTTPConnection("127.0.0.1", port), "POST", "/api/admin/reclaim", admin_token)
    print(body.decode())


if __name__ == "__main__":
    main()
