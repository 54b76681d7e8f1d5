"""Flow parameters that name paths, folders or addresses are checked before any work,
whoever calls the flow (tasks/guard.py): one line naming the parameter, nothing written."""

import inspect

import pytest

from gan_core.errors import ParameterError
from tasks.guard import ALLOWED_ENV, check_inside, check_slug
from tests.pipeline_helpers import ROOT
from tests.tiny import write_tiny_params


@pytest.mark.parametrize("name", ["sweep-1", "mm_vs_ns.v2", "A"])
def test_slugs_are_accepted(name):
    assert check_slug("name", name) == name


@pytest.mark.parametrize(
    "name", ["../../x", "a/b", "/abs", "..", "a..b", "", ".hidden", "x" * 101, "spa ce", "semi;colon"]
)
def test_names_that_could_leave_the_folder_are_refused(name):
    with pytest.raises(ParameterError, match=r"^name: .* use 1-100 letters, digits, '-', '_' or '.'") as info:
        check_slug("name", name)
    assert "\n" not in str(info.value)


def test_paths_must_lie_in_the_project_or_an_allowed_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert check_inside("root", ".") == ROOT.resolve()
    assert check_inside("root", str(tmp_path)) == tmp_path.resolve()  # the tests' folders are allowed (conftest)
    monkeypatch.setenv(ALLOWED_ENV, "")
    for outside in ("/etc", str(tmp_path), str(ROOT / ".." / "elsewhere")):
        with pytest.raises(
            ParameterError, match=rf"^root: '{outside}' lies outside the project \({ROOT}\); allowed: .*{ALLOWED_ENV}"
        ):
            check_inside("root", outside)
    project = tmp_path / "project"
    project.mkdir()
    (project / "escape").symlink_to("/etc")  # a link inside the project to a folder outside it is outside
    monkeypatch.chdir(project)
    assert check_inside("root", "runs") == project.resolve() / "runs"
    with pytest.raises(ParameterError, match="lies outside the project"):
        check_inside("root", "escape")


def test_sweep_name_that_climbs_out_is_refused_before_any_work(tmp_path, prefect_backend):
    from flows.sweep_gan import sweep_gan

    write_tiny_params(tmp_path / "params.yaml")
    before = set(tmp_path.parent.iterdir())
    with pytest.raises(ParameterError, match=r"^name: '\.\./\.\./x' is not allowed"):
        sweep_gan(params_path=str(tmp_path / "params.yaml"), root=str(tmp_path), name="../../x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # no runs/, reports/, mlflow store
    assert set(tmp_path.parent.iterdir()) == before


@pytest.mark.parametrize(
    "param, kwargs",
    [
        ("root", {"root": "/"}),
        ("params_path", {"params_path": "/etc/hostname"}),
        ("data.path", {"overrides": {"data.name": "mine", "data.path": "/etc"}}),
    ],
)
def test_train_gan_refuses_paths_outside_the_project(tmp_path, monkeypatch, prefect_backend, param, kwargs):
    from flows.train_gan import train_gan

    write_tiny_params(tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    args = {"params_path": "params.yaml", "root": ".", **kwargs}
    with pytest.raises(ParameterError, match=rf"^{param}: '.*' lies outside the project"):
        train_gan(**args)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_the_dask_address_is_not_a_flow_parameter():
    """Whoever can start a flow run cannot make it connect to a scheduler of their choice:
    the address comes from params.yaml `sweep.address` or GAN_DASK_ADDRESS only."""
    from flows.sweep_gan import sweep_gan

    assert not [p for p in inspect.signature(sweep_gan.fn).parameters if "address" in p]
