#!/usr/bin/env python3
"""http_client.py: the raw HTTP client of test_http_edges.sh, for what curl cannot send.

  http_client.py raw PORT REQUEST
      Sends REQUEST (Python escapes allowed: \\r\\n, \\x00) to 127.0.0.1:PORT, reads until
      the server closes, the answer is whole (without Connection: close), or 5 s pass, and
      prints one JSON line: status, content_type, body, ms (time to the whole answer),
      closed (the server closed the connection).

  http_client.py chunked PORT PATH CHUNK_BYTES CHUNKS
      POSTs a chunked body of up to CHUNKS chunks of CHUNK_BYTES, one every 50 ms, reading
      the answer as it comes; prints the JSON line above plus chunks_sent.

  http_client.py slow PORT COUNT SECONDS PROBE_PATH [PROBE_PATH...]
      Opens COUNT connections that each send a request line and then one header line a
      second, never finishing. Meanwhile requests every PROBE_PATH (a fresh connection
      each, 2 s timeout) once a second. Stops after SECONDS and prints one JSON line:
      opened, probes, probe_failures, probe_max_ms, probe_avg_ms, closed_by_server and
      closed_after_s (min and max seconds after its first byte that the server closed a
      slow connection).

  http_client.py reset PORT PATH BODY COUNT SECONDS
      POSTs BODY (JSON) to PATH on COUNT connections, waits SECONDS, then resets each
      connection (an abortive close, RST) without reading its answer; prints one JSON line:
      sent (the requests that went out).

Every socket talks to 127.0.0.1 only and every run ends by itself within its bound.
"""
import json
import select
import socket
import struct
import sys
import time

HOST = "127.0.0.1"


def readable(socks, timeout):
    """The sockets of socks that are readable (or closed) within timeout seconds; poll(2),
    as select(2) cannot watch descriptors above 1023."""
    poller = select.poll()
    by_fd = {}
    for sock in socks:
        poller.register(sock, select.POLLIN)
        by_fd[sock.fileno()] = sock
    return [by_fd[fd] for fd, _ in poller.poll(max(0.0, timeout) * 1000)]


def parse_answer(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = 0
    if lines and lines[0].startswith("HTTP/"):
        parts = lines[0].split(" ")
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    content_type = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-type":
            content_type = value.strip()
    return status, content_type, body.decode("utf-8", "replace")


def read_answer(sock, deadline):
    """Reads until the server closes, a whole Content-Length body arrived (and the answer
    does not say Connection: close), or deadline."""
    data = b""
    closed = False
    while time.monotonic() < deadline:
        if not readable([sock], deadline - time.monotonic()):
            break
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            fields = {}
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
            length = fields.get("content-length")
            if (length is not None and len(body) >= int(length)
                    and fields.get("connection", "").lower() != "close"):
                return data, closed
    return data, closed


def print_answer(data, closed, started, **extra):
    status, content_type, body = parse_answer(data)
    out = {"status": status, "content_type": content_type, "body": body,
           "ms": int((time.monotonic() - started) * 1000), "closed": closed}
    out.update(extra)
    print(json.dumps(out))


def cmd_raw(port, request):
    raw = request.encode("latin-1").decode("unicode_escape").encode("latin-1")
    started = time.monotonic()
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(raw)
        data, closed = read_answer(sock, started + 5)
    print_answer(data, closed, started)


def cmd_chunked(port, path, chunk_bytes, chunks):
    started = time.monotonic()
    sent = 0
    data = b""
    closed = False
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(("POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n" % path).encode())
        chunk = b"%x\r\n%s\r\n" % (chunk_bytes, b" " * chunk_bytes)
        for _ in range(chunks):
            if readable([sock], 0.05):
                break  # the server answered before the body's end
            try:
                sock.sendall(chunk)
                sent += 1
            except (BrokenPipeError, ConnectionResetError):
                break
        else:
            sock.sendall(b"0\r\n\r\n")
        data, closed = read_answer(sock, time.monotonic() + 5)
    print_answer(data, closed, started, chunks_sent=sent)


def probe(port, path):
    """One GET on a fresh connection; returns (ok, ms)."""
    started = time.monotonic()
    try:
        with socket.create_connection((HOST, port), timeout=2) as sock:
            sock.sendall(("GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
                          % path).encode())
            data, _ = read_answer(sock, started + 2)
    except OSError:
        return False, int((time.monotonic() - started) * 1000)
    status, _, _ = parse_answer(data)
    return status == 200, int((time.monotonic() - started) * 1000)


def cmd_slow(port, count, seconds, paths):
    started = time.monotonic()
    conns = []  # [socket, opened_at, headers_sent, closed_after]
    for i in range(count):
        try:
            sock = socket.create_connection((HOST, port), timeout=2)
            sock.setblocking(False)
            sock.send(b"GET /health HTTP/1.1\r\nHost: test\r\n")
            conns.append([sock, time.monotonic(), 0, None])
        except OSError:
            break
    probes = failures = total_ms = max_ms = 0
    end = started + seconds
    next_tick = time.monotonic()
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_tick:
            next_tick = now + 1.0
            for c in conns:
                if c[3] is None:
                    try:
                        c[0].send(b"X-Slow-%d: 1\r\n" % c[2])
                        c[2] += 1
                    except OSError:
                        c[3] = now - c[1]
            for path in paths:
                ok, ms = probe(port, path)
                probes += 1
                failures += 0 if ok else 1
                total_ms += ms
                max_ms = max(max_ms, ms)
        live = [c for c in conns if c[3] is None]
        if live:
            ready = readable([c[0] for c in live], min(next_tick, end) - time.monotonic())
            for c in live:
                if c[0] in ready:
                    try:
                        gone = c[0].recv(4096) == b""
                    except OSError:
                        gone = True
                    if gone:
                        c[3] = time.monotonic() - c[1]
        else:
            time.sleep(max(0.0, min(next_tick, end) - time.monotonic()))
    closed = [c[3] for c in conns if c[3] is not None]
    for c in conns:
        c[0].close()
    print(json.dumps({
        "opened": len(conns), "probes": probes, "probe_failures": failures,
        "probe_max_ms": max_ms, "probe_avg_ms": total_ms // probes if probes else 0,
        "closed_by_server": len(closed),
        "closed_after_s": [round(min(closed), 1), round(max(closed), 1)] if closed else [],
    }))


def cmd_reset(port, path, body, count, seconds):
    data = body.encode()
    request = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n")
    conns = []
    for _ in range(count):
        sock = socket.create_connection((HOST, port), timeout=5)
        sock.sendall(request.encode() + data)
        conns.append(sock)
    time.sleep(seconds)
    for sock in conns:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    print(json.dumps({"sent": len(conns)}))


def main(argv):
    if len(argv) >= 3 and argv[0] == "raw":
        return cmd_raw(int(argv[1]), argv[2])
    if len(argv) == 5 and argv[0] == "chunked":
        return cmd_chunked(int(argv[1]), argv[2], int(argv[3]), int(argv[4]))
    if len(argv) == 6 and argv[0] == "reset":
        return cmd_reset(int(argv[1]), argv[2], argv[3], int(argv[4]), float(argv[5]))
    if len(argv) >= 5 and argv[0] == "slow":
        return cmd_slow(int(argv[1]), int(argv[2]), float(argv[3]), argv[4:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
