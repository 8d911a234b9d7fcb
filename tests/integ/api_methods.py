#!/usr/bin/env python3
"""api_methods.py SDK_ROOT API VERSION HOST PORT: requests every method of gcloud's
generated client for the API on HOST:PORT (its path with each variable replaced by the
placeholder segment x1, an empty JSON body) and prints one line per method that reached
no route (the router's "was not found on this server" answer), then "N methods"."""
import http.client
import re
import sys


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
        yield method, "/" + re.sub(r"\{[^}]*\}", "x1", path.group(1)), method_id


def main():
    sdk, api, version, host, port = sys.argv[1:6]
    count = 0
    for method, path, method_id in methods(sdk, api, version):
        count += 1
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
        body = conn.getresponse().read().decode("utf-8", "replace")
        conn.close()
        if "was not found on this server" in body:
            print(f"{method_id} ({method} {path}) reaches no route: {body[:200]}")
    print(f"{count} methods")


main()
