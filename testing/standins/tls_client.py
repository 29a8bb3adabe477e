#!/usr/bin/env python3
"""A raw TLS client of the daemon for the tests, from a chosen source address (Deno cannot bind
one): sends one POST /v1/request query with a token and prints the HTTP status.

  tls_client.py PORT CAFILE SOURCE_ADDRESS TOKEN
"""
import json, socket, ssl, sys

port, cafile, source, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=cafile)
raw = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(source, 0))
conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
body = json.dumps({"version": 1, "request": {"action": "query", "type": "kerberos", "user": None}})
conn.sendall((
    "POST /v1/request HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    f"content-length: {len(body)}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    f"{body}"
).encode())
answer = b""
while True:
    chunk = conn.recv(4096)
    if not chunk:
        break
    answer += chunk
print(answer.split(b" ", 2)[1].decode())
