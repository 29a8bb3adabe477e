#!/usr/bin/env python3
"""The OAuth web flow's file writes, for the tests: what upstream's OAuthCredmonWebserver does
when a user completes a login (htcondor/htcondor src/condor_credd/condor_credmon_oauth/credmon/
CredentialMonitors/OAuthCredmonWebserver/OAuthCredmonWebserver.py): run as condor (umask 022),
makedirs <dir>/<user> when missing, then for .use, .top and .meta: tempfile.mkstemp(dir=<user
dir>), write, chmod 0400, rename. Files and a new user directory are owned by condor.

Usage: webflow.py DIR USER PROVIDER   (writes <provider>.use, .top and .meta)
"""
import json, os, stat, sys, tempfile

cred_dir, user, provider = sys.argv[1], sys.argv[2], sys.argv[3]
os.umask(0o022)
user_dir = os.path.join(cred_dir, user)
if not os.path.isdir(user_dir):
    os.makedirs(user_dir)
contents = {
    ".use": json.dumps({"access_token": "webflow-access-" + provider, "expires_in": 3600}),
    ".top": json.dumps({"refresh_token": "webflow-refresh-" + provider, "scopes": "read:/",
                        "audience": ""}),
    ".meta": json.dumps({"client_id": "cid", "client_secret": "csecret",
                         "token_url": "https://issuer.example/token"}),
}
tmp = {}
for ext, text in contents.items():
    fd, tmp[ext] = tempfile.mkstemp(dir=user_dir)
    with os.fdopen(fd, "w") as f:
        f.write(text)
for ext in (".use", ".top", ".meta"):
    os.chmod(tmp[ext], stat.S_IRUSR)
    os.rename(tmp[ext], os.path.join(user_dir, provider + ext))
