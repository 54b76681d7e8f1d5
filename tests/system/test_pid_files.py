"""`make run` / `make stop` trust a pid file only while it names the very process they started
(same pid and start time): a stale one is removed, never signalled."""

import os
import subprocess
import sys

import flows.services as services


def test_stale_and_reused_pid_files_are_ignored_and_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "RUN_DIR", tmp_path)
    live = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True
    )  # as _spawn starts services
    try:
        (tmp_path / "serve.pid").write_text(f"{live.pid} {services._start_time(live.pid)}\n")
        assert services._owned_pid("serve") == live.pid
        (tmp_path / "mlflow.pid").write_text(f"{os.getpid()} 1\n")  # a live pid, but another process's start time
        assert services._owned_pid("mlflow") is None and not (tmp_path / "mlflow.pid").exists()
        (tmp_path / "old.pid").write_text("12345\n")  # the format before start times: unrecognisable
        services.stop()  # must not signal this test's own process (mlflow.pid named it) nor pid 12345
        assert live.wait(timeout=20) is not None and not (tmp_path / "serve.pid").exists()
        assert not (tmp_path / "old.pid").exists()
    finally:
        live.kill()


def test_a_server_this_checkout_did_not_start_is_refused(tmp_path, monkeypatch, capsys):
    import pytest

    monkeypatch.setattr(services, "RUN_DIR", tmp_path)
    monkeypatch.delenv("GAN_REUSE_SERVICES", raising=False)
    with pytest.raises(
        SystemExit,
        match="something not started by this checkout .* answers on 127.0.0.1:5000; stop it, set GAN_MLFLOW_PORT",
    ):
        services._reuse_or_refuse("mlflow", 5000, "GAN_MLFLOW_PORT")
    monkeypatch.setenv("GAN_REUSE_SERVICES", "1")  # configured on purpose
    services._reuse_or_refuse("mlflow", 5000, "GAN_MLFLOW_PORT")
    assert "already running" in capsys.readouterr().out
