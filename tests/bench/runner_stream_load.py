#!/usr/bin/env python3
"""runner_stream_load: the load of bench_runner.sh's streaming run (Python stdlib only).

Publishes messages to an input topic at a fixed rate (batches of BATCH every 1/RATE*BATCH
s, each message's data its send time in nanoseconds), while PULLERS threads pull the output
subscription (the pipeline's copies) and acknowledge them, recording for each message the
time from its publication to its receipt. Stops SECONDS after the first publish, then
drains the output for at most DRAIN seconds. Prints one line of JSON: sent, received,
the sustained rate (received / (last receipt - first publish)), and latency percentiles.

    runner_stream_load.py PUBSUB_URL PROJECT IN_TOPIC OUT_SUBSCRIPTION RATE SECONDS
"""
import base64
import json
import sys
import threading
import time
import urllib.request

BATCH = 100
PULLERS = 3
DRAIN = 20.0


def call(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as reply:
        return json.loads(reply.read() or b"{}")


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.last_receipt = 0.0
        self.seen = set()


def puller(base, sub, results, stop):
    while not stop.is_set():
        try:
            got = call(f"{base}/{sub}:pull", {"maxMessages": 1000, "returnImmediately": True})
        except Exception:  # a slow answer under load: try again
            continue
        received = got.get("receivedMessages", [])
        now = time.time_ns()
        if not received:
            time.sleep(0.005)
            continue
        with results.lock:
            for r in received:
                sent = base64.b64decode(r["message"]["data"]).decode()
                if sent in results.seen:
                    continue  # a redelivery (at least once)
                results.seen.add(sent)
                results.latencies.append((now - int(sent.split(":")[0])) / 1e6)
            results.last_receipt = now / 1e9
        call(f"{base}/{sub}:acknowledge", {"ackIds": [r["ackId"] for r in received]})


def publish(base, topic, rate, seconds):
    interval = BATCH / rate
    start = time.time()
    sent = 0
    seq = 0
    while time.time() - start < seconds:
        due = start + (sent // BATCH) * interval
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        now = time.time_ns()
        msgs = []
        for _ in range(BATCH):
            msgs.append({"data": base64.b64encode(f"{now}:{seq}".encode()).decode()})
            seq += 1
        call(f"{base}/{topic}:publish", {"messages": msgs})
        sent += BATCH
    return start, sent


def main():
    url, project, topic, sub, rate, seconds = sys.argv[1:7]
    base = f"{url}/v1/projects/{project}"
    results = Results()
    stop = threading.Event()
    threads = [threading.Thread(target=puller, args=(base, f"subscriptions/{sub}", results, stop))
               for _ in range(PULLERS)]
    for t in threads:
        t.start()
    start, sent = publish(base, f"topics/{topic}", float(rate), float(seconds))
    deadline = time.time() + DRAIN
    while time.time() < deadline:
        with results.lock:
            if len(results.latencies) >= sent:
                break
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    lat = sorted(results.latencies)

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 1) if lat else None

    span = results.last_receipt - start
    print(json.dumps({"sent": sent, "received": len(lat),
                      "rate": round(len(lat) / span) if span > 0 else 0,
                      "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": round(lat[-1], 1) if lat else None}))


if __name__ == "__main__":
    main()
