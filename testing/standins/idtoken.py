#!/usr/bin/env python3
"""An independent IDTOKEN implementation for the tests (Python's hmac and hashlib only), written
from HTCondor's rules: the signing key file is unscrambled with DE AD BE EF, the POOL key doubled,
HKDF-SHA256(salt "htcondor", info "master jwt", 32 bytes) gives the HMAC key.

  idtoken.py mint KEYFILE KID ISS SUB [exp=N] [iat=N] [nbf=N] [scope=S] [alg=HS256|none]
  idtoken.py verify KEYFILE TOKEN      (prints the claims as JSON, or exits 1)
"""
import base64, hashlib, hmac, json, secrets, sys, time


def ikm(path, kid):
    data = open(path, "rb").read()
    key = bytes(b ^ [0xDE, 0xAD, 0xBE, 0xEF][i % 4] for i, b in enumerate(data))
    return key + key if kid == "POOL" else key


def hkdf(material):
    prk = hmac.new(b"htcondor", material, hashlib.sha256).digest()
    return hmac.new(prk, b"master jwt" + b"\x01", hashlib.sha256).digest()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(path, kid, iss, sub, extra):
    now = int(time.time())
    claims = {"iat": now, "iss": iss, "jti": secrets.token_hex(16), "sub": sub}
    alg = "HS256"
    for item in extra:
        name, value = item.split("=", 1)
        if name == "alg":
            alg = value
        elif name == "scope":
            claims["scope"] = value
        else:
            claims[name] = int(value)
    header = {"alg": alg, "kid": kid}
    signing = b64(json.dumps(header, separators=(",", ":"), sort_keys=True).encode()) + "." + \
        b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    if alg == "none":
        return signing + "."
    signature = hmac.new(hkdf(ikm(path, kid)), signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(signature)


def verify(path, token):
    header_b64, claims_b64, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)
    header = json.loads(base64.urlsafe_b64decode(pad(header_b64)))
    claims = json.loads(base64.urlsafe_b64decode(pad(claims_b64)))
    expected = hmac.new(hkdf(ikm(path, header["kid"])), (header_b64 + "." + claims_b64).encode(),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(b64(expected), signature):
        sys.exit(1)
    print(json.dumps({"header": header, "claims": claims}))


if sys.argv[1] == "mint":
    print(mint(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]))
else:
    verify(sys.argv[2], sys.argv[3])
