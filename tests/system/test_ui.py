"""The MLflow and Prefect UIs, checked in headless Chromium as a person would look at them.

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Screenshots are
kept under `test-artifacts/ui/`. Servers bind 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from flows.services import prefect_server_security
from tests.pipeline_helpers import ROOT, free_port
from tests.tiny import write_tiny_params

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SHOTS = ROOT / "test-artifacts" / "ui"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy within {timeout}s")


def _server(cmd: list[str], health: str, log: Path, env: dict | None = None):
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_healthy(health, proc)
    except BaseException:
        proc.kill()
        raise
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=2200,1100",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _wait_text(driver, *texts: str, timeout: float = 60) -> str:
    """Body text once every `texts` shows (the UIs render after their API calls)."""
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        body = driver.find_element("tag name", "body").text
        if all(t in body for t in texts):
            return body
        time.sleep(0.5)
    missing = [t for t in texts if t not in body]
    raise AssertionError(f"not shown within {timeout}s: {missing}")


def _sweep_runs(root: Path) -> tuple[str, str, dict[str, str]]:
    """A parent run with four nested children, logged by the project's own tracking code as
    sweep-gan logs them (tasks.tracking: start_run, tracked_run), with a final jsd each."""
    from tasks.paths import Paths
    from tasks.tracking import EXPERIMENT, client, start_run, tracked_run

    paths = Paths.at(root)
    parent = start_run(paths.root, {}, {"entry": "sweep-gan"}, run_name="sweep-ui-check")
    children = {}
    with tracked_run(paths, parent):
        for loss, seed, jsd in [("mm", 0, 0.2143), ("mm", 1, 0.1877), ("ns", 0, 0.0431), ("ns", 1, 0.0519)]:
            name = f"loss={loss},seed={seed}"
            run = start_run(
                paths.root,
                {"train.loss": loss, "seed": seed},
                {"sweep_member": name},
                run_name=name,
                parent_run_id=parent,
            )
            with tracked_run(paths, run):
                client(paths.root).log_metric(run, "jsd", jsd)
            children[name] = run
    return client(paths.root).get_experiment_by_name(EXPERIMENT).experiment_id, parent, children


def test_mlflow_ui_lists_sweep_children_with_jsd(tmp_path, browser, monkeypatch):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the project's default store under its root
    exp, parent, children = _sweep_runs(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    port = free_port()
    server = _server(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            uri,
            "--workers",
            "1",
        ],
        f"http://127.0.0.1:{port}/health",
        tmp_path / "mlflow.log",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # The experiment's runs page: expand the sweep's parent, show the jsd column.
        browser.get(f"{base}/#/experiments/{exp}/runs")
        _wait_text(browser, "sweep-ui-check")
        browser.find_element(By.CSS_SELECTOR, "button[data-component-id*='runnamecellrenderer']").click()
        _wait_text(browser, *children)
        browser.find_element(By.XPATH, "//*[contains(text(), 'Show more columns')]").click()
        browser.find_element(By.XPATH, "//label[normalize-space()='jsd'] | //*[normalize-space(text())='jsd']").click()
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        body = _wait_text(browser, "jsd", "0.2143", "0.0431")
        browser.save_screenshot(str(SHOTS / "mlflow-experiment-runs.png"))
        assert all(name in body for name in children)

        # The compare view of the four children.
        runs = urllib.parse.quote(json.dumps(list(children.values())))
        browser.get(f"{base}/#/compare-runs?runs={runs}&experiments={urllib.parse.quote(json.dumps([exp]))}")
        body = _wait_text(
            browser, "Metrics", "jsd", *children, "0.214", "0.188", "0.043", "0.052"
        )  # shown to 3 decimals
        browser.save_screenshot(str(SHOTS / "mlflow-compare-runs.png"))
        assert body.index("jsd") < body.index("0.214")
    finally:
        _stop(server)


def test_prefect_ui_shows_the_flow_run(tmp_path, browser):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        **prefect_server_security(port),
    }  # as `make run` starts it: CSRF on, CORS its own origin
    server = _server(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        f"{api}/health",
        tmp_path / "prefect.log",
        env,
    )
    try:
        write_tiny_params(tmp_path / "params.yaml")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "flows.prepare_data",
                "--params",
                str(tmp_path / "params.yaml"),
                "--root",
                str(tmp_path),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
            capture_output=True,
        )
        with urllib.request.urlopen(
            f"{api}/csrf-token?client=ui-test", timeout=10
        ) as r:  # what the UI does before any POST
            token = json.loads(r.read())["token"]

        def search(kind: str) -> list[dict]:
            headers = {
                "Content-Type": "application/json",
                "Prefect-Csrf-Token": token,
                "Prefect-Csrf-Client": "ui-test",
            }
            req = urllib.request.Request(f"{api}/{kind}/filter", data=b"{}", method="POST", headers=headers)
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())

        runs, (task_run,) = search("flow_runs"), search("task_runs")
        assert len(runs) == 1 and runs[0]["state_type"] == "COMPLETED"
        assert task_run["name"].startswith("prepare-data") and task_run["state_type"] == "COMPLETED"
        browser.get(f"http://127.0.0.1:{port}/runs/flow-run/{runs[0]['id']}")
        # The flow run's page names the run, its flow and the task run inside it
        # (_wait_text fails the test unless every text appears within its timeout).
        _wait_text(browser, runs[0]["name"], "prepare-data", "Completed", task_run["name"])
        browser.save_screenshot(str(SHOTS / "prefect-flow-run.png"))
    finally:
        _stop(server)
