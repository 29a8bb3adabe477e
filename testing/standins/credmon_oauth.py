#!/usr/bin/env python3
"""OAuth credmon stand-in for the tests: behaves as upstream's Python credmons do on disk.

Mirrors htcondor/htcondor src/condor_credd/condor_credmon_oauth/credmon/utils/utils.py:
  - drop_pid(): open(<dir>/pid, "w") and write the pid with no newline, under the process umask
    (022 here), so the file is 0644 and owned by whoever runs the credmon (root);
  - atomic_output(): tempfile.mkstemp(dir=<user dir>, prefix=<file name>), write, chmod 0400
    (S_IRUSR), rename over the target;
  - credmon_complete(): touch <dir>/CREDMON_COMPLETE after every scan.
On SIGHUP it scans <dir>/*/*.top and writes a .use for each .top that has none (as LocalCredmon
does): credmon JSON {"access_token": <JWT with exp = now + 3600>, "expires_in": 3600}.

Usage: credmon_oauth.py DIR LOG   (env STANDIN_IGNORE=1: log HUPs, process nothing;
                                   STANDIN_DELAY_MS=N: wait before processing)
"""
import base64, json, os, signal, stat, sys, tempfile, time

cred_dir, log = sys.argv[1], sys.argv[2]
ignore = os.environ.get("STANDIN_IGNORE") == "1"
delay = int(os.environ.get("STANDIN_DELAY_MS", "0")) / 1000.0
os.umask(0o022)
pending = False


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def access_token(user, name):
    now = int(time.time())
    claims = {"iss": "https://standin.example", "sub": user, "aud": "ANY", "scope": "read:/",
              "iat": now, "exp": now + 3600}
    return "%s.%s.%s" % (b64({"alg": "ES256", "typ": "JWT"}), b64(claims), "c2lnbmF0dXJl")


def atomic_output(contents, output_fname):
    dir_name, file_name = os.path.split(output_fname)
    tmp_fd, tmp_name = tempfile.mkstemp(dir=dir_name, prefix=file_name)
    try:
        with os.fdopen(tmp_fd, "wb") as fp:
            fp.write(contents)
        os.chmod(tmp_name, stat.S_IRUSR)
        os.rename(tmp_name, output_fname)
    finally:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass


def scan():
    for user in sorted(os.listdir(cred_dir)):
        user_dir = os.path.join(cred_dir, user)
        if user.startswith(".") or not os.path.isdir(user_dir) or os.path.islink(user_dir):
            continue
        for name in sorted(os.listdir(user_dir)):
            if not name.endswith(".top"):
                continue
            use = os.path.join(user_dir, name[:-4] + ".use")
            if os.path.exists(use):
                continue
            token = {"access_token": access_token(user, name[:-4]), "expires_in": 3600}
            atomic_output(json.dumps(token).encode(), use)
    complete = os.path.join(cred_dir, "CREDMON_COMPLETE")
    with open(complete, "a"):
        os.utime(complete, None)


def on_hup(signum, frame):
    global pending
    with open(log, "a") as f:
        f.write("HUP %d\n" % int(time.time() * 1000))
    pending = True


signal.signal(signal.SIGHUP, on_hup)
signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
with open(os.path.join(cred_dir, "pid"), "w") as pid_fd:
    pid_fd.write("{0}".format(os.getpid()))
if not ignore:
    scan()  # a first scan at start-up, as the real credmons make, touches CREDMON_COMPLETE
print("ready", flush=True)
while True:
    signal.pause() if not pending else None
    if pending:
        pending = False
        if ignore:
            continue
        time.sleep(delay)
        scan()
        with open(log, "a") as f:
            f.write("DONE %d\n" % int(time.time() * 1000))
