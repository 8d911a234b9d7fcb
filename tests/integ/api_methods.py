#!/usr/bin/env python3
"""api_methods.py SDK_ROOT API VERSION HOST PORT [query]: requests every method of gcloud's
generated client for the API on HOST:PORT (its path with each variable replaced by the
placeholder segment x1, an empty JSON body) and prints one line per method that reached
no route (the router's "was not found on this server", or "Method X is not supported for"
a path known for other methods), then "N methods".

With "query", each method is requested twice instead: with every query parameter the
client declares for it (the first by its proto name), which no built method may refuse as
unbound, and with an unknown one, which every built method must refuse as Google does
("Cannot bind query parameter"); one line per method that does otherwise (a method without
a route is left to the first mode)."""
import http.client
import re
import sys
import urllib.parse

UNBOUND = "Cannot bind query parameter"


def methods(sdk, api, version):
    client = f"{sdk}/lib/googlecloudsdk/generated_clients/apis/{api}/{version}/{api}_{version}_client.py"
    with open(client, encoding="utf-8") as f:
        source = f.read()
    for info in re.finditer(r"base_api\.ApiMethodInfo\((.*?)\)\n", source, re.S):
        fields = info.group(1)
        path = re.search(r"flat_path=u?'([^']*)'", fields) or re.search(
            r"relative_path=u?'([^']*)'", fields)
        method = re.search(r"http_method=u?'([^']*)'", fields).group(1)
        method_id = re.search(r"method_id=u?'([^']*)'", fields).group(1)
        params = re.findall(r"'([^']*)'", re.search(r"query_params=\[([^\]]*)\]", fields).group(1))
        # apitools joins a nested field's path with '_': encryptionConfig_kmsKeyName
        params = [name.replace("_", ".") for name in params]
        yield method, "/" + re.sub(r"\{[^}]*\}", "x1", path.group(1)), method_id, params


def request(host, port, method, path):
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
    body = conn.getresponse().read().decode("utf-8", "replace")
    conn.close()
    return body


def unrouted(body):
    """The router's answers for a URL no API has, or a method its path does not take."""
    return "was not found on this server" in body or "is not supported for" in body


def proto_name(json_name):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), json_name)


def check_query(host, port, method, path, method_id, params):
    if params:
        names = [proto_name(params[0])] + params[1:]
        query = urllib.parse.urlencode([(name, "1") for name in names])
        body = request(host, port, method, f"{path}?{query}")
        if UNBOUND in body:
            print(f"{method_id} refuses a parameter gcloud's client declares: {body[:240]}")
    body = request(host, port, method, f"{path}?notAField=1")
    if UNBOUND not in body and "UNIMPLEMENTED" not in body and not unrouted(body):
        print(f"{method_id} ({method} {path}) takes an unknown query parameter: {body[:200]}")


def main():
    sdk, api, version, host, port = sys.argv[1:6]
    query_mode = sys.argv[6:7] == ["query"]
    count = 0
    for method, path, method_id, params in methods(sdk, api, version):
        count += 1
        if query_mode:
            check_query(host, port, method, path, method_id, params)
            continue
        body = request(host, port, method, path)
        if unrouted(body):
            print(f"{method_id} ({method} {path}) reaches no route: {body[:200]}")
    print(f"{count} methods")


main()
