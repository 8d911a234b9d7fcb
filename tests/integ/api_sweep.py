#!/usr/bin/env python3
"""api_sweep.py SDK_ROOT SEEDS_JSON API VERSION BASE_URL [METHOD_REGEX]: hostile requests to
every method (or those whose ID matches METHOD_REGEX) of one API that gcloud's generated
client knows, on a running service.

Each method's path is filled from SEEDS_JSON's "ids" (placeholder name -> ID of a resource
the caller made, "x1" otherwise), so the request reaches the method's own checks. Its body
is built from the client's message classes: a plausible request first (a value of the
right type for every field, three levels deep, known field names from SEEDS_JSON's
"fields"), then the same request with one field at a time replaced by each hostile value,
and a request holding that field alone
(wrong types, nulls, lone surrogates, NUL, huge numbers and strings, deep nesting, broken
durations and timestamps), then hostile whole bodies (invalid JSON, invalid UTF-8, deep
nesting, a JSON scalar) and hostile query parameters. Methods that delete, destroy or
detach run after all the others. For an API gcloud has no client of (Bigtable's data API),
SEEDS_JSON's "methods" lists them: {"http", "id", "path", "body" (the plausible one, or
null), "query": [names]}.

Every request must be answered over the kept-alive connection within 30 s, with a status
below 500 (UNIMPLEMENTED, 501 at Google, is 400 here) and, when it fails, Google's error
JSON ({"error": {"code": <the status>, "status": ..., "message": ...}}).

Prints "ok API METHOD_ID (N requests)" or "FAIL API METHOD_ID: what" (the first three
problems of the method) per method, then a summary line. SWEEP_STRIDE=N sends only every
Nth request (for sanitizer builds).
"""
import http.client
import importlib
import json
import os
import re
import sys
import time
import urllib.parse

messages = None  # apitools' protorpclite.messages, from the SDK (main imports it)

DEPTH = 3          # how deep a plausible body goes
PATHS_PER_METHOD = 25
TIMEOUT = 30
DEEP = 2000        # nesting depth of the deeply nested values

# Values any field may receive; each is a JSON text, so lone surrogates and NUL reach the
# server as JSON escapes.
HOSTILE_VALUES = [
    "null", '""', '"\\u0000"', '"\\ud800"', '"\\udfff\\ud800"', json.dumps("x" * 70000),
    json.dumps("\U0001F642" * 3000), "-1", "0", "2147483648", "9223372036854775808",
    "-9223372036854775809", "1e308", "1.5", "1e999", '"NaN"', '"12abc"', "true", "[]", "{}",
    "[null]", '{"a": {"b": []}}', "[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP,
    '"BOGUS_ENUM_VALUE"', '"-1s"', '"315576000001s"', '"1.0000000001s"',
    '"9999-12-31T23:59:59.999999999Z"', '"2024-02-30T25:61:61Z"', '"projects/../../etc"',
    '"projects/p/topics/\\u0000"', '"a,b,,c.d.e"', '"*"', '"AAAA===="',
]
HOSTILE_BODIES = [
    b"", b"null", b"[]", b"123", b'"text"', b"{", b'{"a":', b"{}}", b"\xff\xfe{}",
    b'{"name": "\xff\xfe"}', b'{"a": "\xc0\x80"}', b"\x00{}", b"[" * 100000,
    b'{"a":' * 50000, b'{"' + b"k" * 200000 + b'": 1}', b'{"a": 1, "a": 2}',
    b"\xef\xbb\xbf{}", b'{"\\ud800": 1}',
]
HOSTILE_QUERY = [
    "", "-1", "0", "99999999999999999999", "1e400", "%00", "%ff%fe", "a" * 10000, "true",
    "NaN", "%2F..%2F", "a%20b", "*", "a,,b..c", "BOGUS", "-9223372036854775809",
]
LAST_METHODS = re.compile(r"\.(delete|destroy|detach|drop[A-Za-z]*|undelete|purge[A-Za-z]*)$")


def load_client(sdk, api, version):
    base = f"googlecloudsdk.generated_clients.apis.{api}.{version}"
    mods = importlib.import_module(f"{base}.{api}_{version}_messages")
    client = f"{sdk}/lib/googlecloudsdk/generated_clients/apis/{api}/{version}/{api}_{version}_client.py"
    with open(client, encoding="utf-8") as f:
        source = f.read()
    methods = []
    for info in re.finditer(r"base_api\.ApiMethodInfo\((.*?)\)\n", source, re.S):
        fields = info.group(1)

        def text(key, fields=fields):
            m = re.search(key + r"=u?'([^']*)'", fields)
            return m.group(1) if m else None

        def names(key, fields=fields):
            m = re.search(key + r"=\[([^\]]*)\]", fields, re.S)
            return re.findall(r"'([^']*)'", m.group(1)) if m else []

        methods.append({
            "http": text("http_method"), "id": text("method_id"),
            "path": text("flat_path") or text("relative_path"),
            "request": getattr(mods, text("request_type_name")),
            "field": text("request_field") or "", "query": names("query_params"),
            "path_params": names("path_params"),
        })
    return methods


def fill_path(path, ids):
    def one(m):
        name = m.group(1).lstrip("+")
        return ids.get(name, "x1")
    return "/" + re.sub(r"\{([^}]*)\}", one, path)


def plausible(field, known, depth):
    """A value of field's type, as a Python object for json.dumps."""
    if isinstance(field, messages.MessageField):
        value = plausible_message(field.type, known, depth + 1)
    elif isinstance(field, messages.EnumField):
        names = [n for n in field.type.names() if not n.endswith("UNSPECIFIED")]
        value = names[0] if names else field.type.names()[0]
    elif isinstance(field, messages.BooleanField):
        value = True
    elif isinstance(field, messages.IntegerField):
        value = "1" if field.variant in (messages.Variant.INT64, messages.Variant.UINT64) else 1
    elif isinstance(field, messages.FloatField):
        value = 1.5
    elif isinstance(field, messages.BytesField):
        value = "AAAA"
    else:
        value = known.get(field.name, string_for(field.name))
    return [value] if field.repeated else value


def string_for(name):
    """A plausible string for a field of this name: times and durations in their JSON
    forms, field masks naming a field, tokens and etags absent."""
    if name in ("etag", "pageToken", "requestId", "validateOnly"):
        return None
    if name.endswith("Time") or name == "time":
        return "2026-01-01T00:00:00Z"
    if name.endswith(("Duration", "Period", "Backoff", "Delay", "Retention")) or name == "ttl":
        return "86400s"
    if name.endswith("Mask"):
        return "labels"
    return "x"


def plausible_message(cls, known, depth):
    if not isinstance(cls, type) or not issubclass(cls, messages.Message):
        return {}  # JsonValue and other extra types
    fields = list(cls.all_fields())
    if [f.name for f in fields] == ["additionalProperties"]:  # a map
        entry = fields[0].type
        value = entry.field_by_name("value")
        return {"k1": plausible(value, known, depth)} if depth <= DEPTH else {}
    if depth > DEPTH:
        return {}
    return {f.name: plausible(f, known, depth) for f in fields}


def field_paths(body, prefix=(), out=None):
    """Paths to every value of a plausible body, parents before children."""
    out = [] if out is None else out
    if isinstance(body, dict):
        for key, value in body.items():
            out.append(prefix + (key,))
            field_paths(value, prefix + (key,), out)
    elif isinstance(body, list) and body:
        out.append(prefix + (0,))
        field_paths(body[0], prefix + (0,), out)
    return out


MARK = "\x00HOSTILE\x00"


MARK_JSON = json.dumps(MARK)


def with_mark(body, path):
    """The JSON text of body with the value at path replaced by MARK_JSON (a hostile value
    takes its place: text.replace(MARK_JSON, value))."""
    copy = json.loads(json.dumps(body))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = MARK
    return json.dumps(copy)


def alone_with_mark(path):
    """The JSON text of a body holding only MARK_JSON at path (so that no other field's
    check answers first)."""
    root = node = [] if isinstance(path[0], int) else {}
    for step, next_step in zip(path, path[1:]):
        child = [] if isinstance(next_step, int) else {}
        if isinstance(node, list):
            node.append(child)
        else:
            node[step] = child
        node = child
    if isinstance(node, list):
        node.append(MARK)
    else:
        node[path[-1]] = MARK
    return json.dumps(root)


def request_body(method, known):
    if "body" in method:  # a method SEEDS_JSON describes
        return method["body"]
    req = method["request"]
    if method["field"] == "":
        return None
    if method["field"] == "<request>":
        body = plausible_message(req, known, 1)
        for name in method["path_params"] + method["query"]:
            body.pop(name, None)
        return body
    return plausible(req.field_by_name(method["field"]), known, 0)


class Sweep:
    def __init__(self, base_url, api):
        url = urllib.parse.urlparse(base_url)
        self.host, self.port, self.api = url.hostname, url.port, api
        self.conn = None
        self.sent = 0
        self.stride = int(os.environ.get("SWEEP_STRIDE", "1"))
        self.slowest = (0.0, "")
        self.succeeded = 0  # 2xx answers: how many requests got past every check

    def send(self, method, path, body):
        """None when the answer is acceptable, else what is wrong with it; the status in
        self.status (0 when nothing answered or the stride skipped the request)."""
        self.status, self.answer = 0, b""
        self.sent += 1
        if self.sent % self.stride:
            return None
        headers = {"Content-Type": "application/json"}
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
            status = resp.status
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
        except (OSError, http.client.HTTPException) as e:
            if self.conn:
                self.conn.close()
            self.conn = None
            return f"no answer ({type(e).__name__}: {e})"
        took = time.monotonic() - started
        if took > self.slowest[0]:
            self.slowest = (took, f"{method} {path[:120]}")
        self.succeeded += status < 300
        self.status = status
        self.answer = data
        return judge(status, data)


def error_message(data):
    try:
        return json.dumps(json.loads(data)["error"]["message"][:100])
    except (ValueError, KeyError, TypeError):
        return ""


def judge(status, data):
    if status >= 500:
        return f"HTTP {status}: {data[:300]!r}"
    if status < 300:
        return None
    try:
        err = json.loads(data)["error"]
        if err["code"] == status and isinstance(err["status"], str) and err["message"]:
            return None
    except (ValueError, KeyError, TypeError):
        pass
    return f"HTTP {status} without Google's error JSON: {data[:300]!r}"


def sweep_method(sweep, method, ids, known):
    path = fill_path(method["path"], ids)
    body = request_body(method, known)
    cases = []  # (label, path, body bytes)
    plain = None if body is None else json.dumps(body).encode()
    cases.append(("plausible", path, plain))
    if body is not None:
        cases.append(("empty", path, b"{}"))
        for fpath in field_paths(body)[:PATHS_PER_METHOD]:
            label = ".".join(map(str, fpath))
            in_body, only = with_mark(body, fpath), alone_with_mark(fpath)
            for value in HOSTILE_VALUES:
                cases.append((f"{label}={value[:40]}", path,
                              in_body.replace(MARK_JSON, value).encode()))
                cases.append((f"only {label}={value[:40]}", path,
                              only.replace(MARK_JSON, value).encode()))
    for raw in HOSTILE_BODIES:
        cases.append((f"body {raw[:30]!r}", path, raw))
    for param in method.get("query", [])[:10]:
        for value in HOSTILE_QUERY:
            sep = "&" if "?" in path else "?"
            cases.append((f"?{param}={value[:30]}", f"{path}{sep}{param}={value}", plain))
    problems = []
    for label, p, b in cases:
        wrong = sweep.send(method["http"], p, b)
        if label == "plausible":
            plausible_status = str(sweep.status)
            if sweep.status >= 300:
                plausible_status += " " + error_message(sweep.answer)
        if wrong and len(problems) < 3:
            problems.append(f"{label}: {wrong}")
    return len(cases), plausible_status, problems


def main():
    sdk, seeds_file, api, version, base_url = sys.argv[1:6]
    only = re.compile(sys.argv[6]) if len(sys.argv) > 6 else None
    sys.path[:0] = [f"{sdk}/lib", f"{sdk}/lib/third_party"]
    global messages
    messages = importlib.import_module("apitools.base.protorpclite.messages")
    with open(seeds_file, encoding="utf-8") as f:
        seeds = json.load(f)
    ids, known = seeds.get("ids", {}), seeds.get("fields", {})
    sweep = Sweep(base_url, api)
    failed = total = 0
    methods = seeds.get("methods") or load_client(sdk, api, version)
    methods.sort(key=lambda m: bool(LAST_METHODS.search(m["id"])))
    for method in methods:
        if only and not only.search(method["id"]):
            continue
        count, plausible_status, problems = sweep_method(sweep, method, ids, known)
        total += count
        if problems:
            failed += 1
            print(f"FAIL {api} {method['id']}: " + " | ".join(problems), flush=True)
        else:
            print(f"ok {api} {method['id']} ({count} requests, the plausible one "
                  f"answered {plausible_status})", flush=True)
    print(f"{api} {version}: {total} requests ({sweep.succeeded} answered 2xx), {failed} methods "
          f"failed, slowest answer "
          f"{sweep.slowest[0]:.2f} s ({sweep.slowest[1]})", flush=True)


if __name__ == "__main__":
    main()
