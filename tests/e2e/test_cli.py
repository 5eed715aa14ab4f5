"""The command line: help, version, settings validation, operator commands."""
import os
import subprocess

import requests

from conftest import BIN, MIGRATIONS, Herald, assert_no_sanitizer_report, base_env


def run(*args, env=None, cwd=None):
    e = base_env()
    e.update(env or {})
    r = subprocess.run([BIN, *args], env=e, cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    assert_no_sanitizer_report(r.stderr, "herald " + " ".join(args))
    return r


def test_help_lists_every_setting_with_default():
    r = run("--help")
    assert r.returncode == 0
    for name in ["LISTEN", "DATABASE", "REDIS", "ROLES", "PUBLIC_URL", "BOT_TOKEN",
                 "TELEGRAM_API", "TELEGRAM_WEBHOOK_SECRET", "ADMINS", "STRIPE_API",
                 "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "PAYME_MERCHANT_ID", "PAYME_KEY",
                 "PAYME_CHECKOUT_URL", "CLICK_SERVICE_ID", "CLICK_MERCHANT_ID",
                 "CLICK_SECRET_KEY", "CLICK_CHECKOUT_URL", "YOUTUBE_API", "YOUTUBE_API_KEY",
                 "INSTAGRAM_API", "TME_URL"]:
        assert f"HERALD_{name} " in r.stdout, name
    assert "default: 127.0.0.1:8080" in r.stdout
    assert "default: https://api.telegram.org" in r.stdout
    for cmd in ["run", "migrate", "version", "user add", "apikey create"]:
        assert cmd in r.stdout


def test_version():
    r = run("version")
    assert r.returncode == 0 and r.stdout.startswith("herald ")


def test_unknown_command_and_option():
    assert run("frobnicate").returncode == 2
    assert run("--frob", "run").returncode == 2
    assert run().returncode == 2


def test_bad_setting_stops_startup_naming_it(tmp_path):
    for name, value in [("HERALD_HTTP_THREADS", "many"), ("HERALD_LISTEN", "8080"),
                        ("HERALD_REDIS", "http://x"), ("HERALD_TELEGRAM_API", "ftp://x"),
                        ("HERALD_ROLES", "api,chef"), ("HERALD_ADMINS", "12,abc"),
                        ("HERALD_LOG_LEVEL", "loud")]:
        r = run("run", env={name: value, "HERALD_DATABASE": str(tmp_path / "x.db")})
        assert r.returncode == 2, (name, r.stderr)
        assert name in r.stderr, r.stderr
    assert not (tmp_path / "x.db").exists()  # nothing was opened


def test_config_file_and_environment(tmp_path):
    h = Herald(str(tmp_path), base_env())
    conf = tmp_path / "herald.conf"
    conf.write_text(f"# settings\nHERALD_LISTEN=127.0.0.1:{h.port}\nDATABASE=from-file.db\n")
    env = dict(h.env)
    del env["HERALD_LISTEN"]
    log = open(h.logpath, "ab")
    p = subprocess.Popen([BIN, "--config", str(conf), "run"], env=env, cwd=str(tmp_path),
                         stdout=log, stderr=log)
    try:
        h.proc = p
        h.wait_healthy()
        assert (tmp_path / "from-file.db").exists()
    finally:
        assert h.stop() == 0
        log.close()
    assert_no_sanitizer_report(h.logtext(), "herald run")
    conf.write_text("HERALD_NO_SUCH=1\n")
    r = run("--config", str(conf), "migrate", cwd=str(tmp_path))
    assert r.returncode == 2 and "unknown setting HERALD_NO_SUCH" in r.stderr


def test_migrate_is_idempotent(make_herald):
    n = len(MIGRATIONS)
    h = make_herald()
    r = h.cli("migrate")
    assert r.returncode == 0, r.stderr
    assert f"migrations_applied={n}" in r.stderr
    assert r.stdout == f"applied {n} migration{'s' if n != 1 else ''}; schema version {n}\n"
    r = h.cli("migrate")
    assert r.returncode == 0 and "migrations_applied=0" in r.stderr
    assert r.stdout == f"applied 0 migrations; schema version {n}\n"
    rows = h.sql("SELECT version FROM schema_migrations ORDER BY version")
    assert [int(v) for (v,) in rows] == list(range(1, n + 1))


def test_operator_commands(make_herald):
    h = make_herald()
    r = h.cli("user", "add", "--telegram-id", "555", "--name", "Operator")
    assert r.returncode == 0 and "added" in r.stdout
    r = h.cli("user", "add", "--telegram-id", "555")
    assert r.returncode == 1 and "exists" in r.stderr
    assert h.sql("SELECT count(*) FROM users")[0][0] in (1, "1")
    assert h.cli("user", "add", "--telegram-id", "-3").returncode == 2
    assert h.cli("user", "add", "--telegram-id", "12x").returncode == 2
    assert h.cli("user", "add").returncode == 2
    assert h.cli("user", "add", "--telegram-id", "5", "--bogus", "1").returncode == 2
    r = h.cli("apikey", "create", "--telegram-id", "999")
    assert r.returncode == 1 and "no user" in r.stderr
    r = h.cli("apikey", "create", "--telegram-id", "555")
    assert r.returncode == 0
    key = r.stdout.strip()
    h.start()
    assert requests.get(h.url("/api/v1/me"),
                        headers={"Authorization": f"Bearer {key}"}).json()["name"] == "Operator"
