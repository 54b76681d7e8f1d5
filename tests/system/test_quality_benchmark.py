"""benchmarks/gan_quality.py: a candidate set with --set is fingerprinted apart from the defaults,
so its rows never count for (or resume as) another config, and bad --set values stop it early."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gan_quality.py"


@pytest.fixture(scope="module")
def gan_quality():
    spec = importlib.util.spec_from_file_location("gan_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_set_changes_the_fingerprint_only_when_it_changes_the_config(gan_quality):
    default, cfg = gan_quality.fingerprint(), gan_quality._config("ring8", "ns", 0)
    assert gan_quality.fingerprint(sets=(f"train.r1={cfg.train.r1 + 0.1}",)) != default
    assert gan_quality.fingerprint(sets=(f"train.steps={cfg.train.steps}",)) == default  # the default value itself
    candidate = ("model.g_layers=5", "train.r1=0.5")
    for loss in ("ns", "mm"):  # dataset and seed are not part of it
        assert gan_quality.fingerprint(sets=candidate, loss=loss) == gan_quality.fingerprint(
            gan_quality._config("grid25", loss, 7, candidate)
        )


def test_without_the_fine_discriminator_its_settings_are_not_part_of_the_fingerprint(gan_quality):
    plain = gan_quality.fingerprint(sets=("model.fine_d_features=0",))
    assert plain != gan_quality.fingerprint()
    for other in ("train.fine_d_train_from=0.25", "train.fine_d_weight=0.3", "model.fine_d_scale=12"):
        assert gan_quality.fingerprint(sets=("model.fine_d_features=0", other)) == plain, other
    assert gan_quality.fingerprint(sets=("train.fine_d_train_from=0.25",)) != gan_quality.fingerprint()


def test_mm_from_is_part_of_the_ns_fingerprint_only(gan_quality, monkeypatch):
    """Under MM `train.mm_from` changes no step, so a config that differs only there shares its MM rows."""
    switched, plain = ("train.mm_from=0.3",), ("train.mm_from=null",)
    assert gan_quality.fingerprint(sets=switched) != gan_quality.fingerprint(sets=plain)
    assert gan_quality.fingerprint(sets=switched, loss="mm") == gan_quality.fingerprint(sets=plain, loss="mm")
    current = gan_quality._current(switched)
    named = gan_quality._estimator(gan_quality._config("ring8", "ns", 0))
    today = {"jsd": 0.02, "jsd_held_out": 0.018, "jsd_estimator": named}  # a row of today's estimator
    rows = [
        {"config": current["ns"], "data": "ring8", "loss": "ns", "seed": 0, **today},
        {"config": current["mm"], "data": "ring8", "loss": "mm", "seed": 0, **today},
        {"config": current["mm"], "data": "ring8", "loss": "ns", "seed": 1, **today},  # the plain config's NS run
        {
            "config": current["ns"],
            "data": "ring8",
            "loss": "ns",
            "seed": 2,
            "jsd": 0.02,
        },  # the held-out estimate: rerun
        {
            **today,
            "config": current["ns"],
            "data": "grid25",
            "loss": "ns",
            "seed": 0,
            "jsd_estimator": "another",
        },  # rerun
    ]
    monkeypatch.setattr(gan_quality, "_rows", lambda: rows)
    assert gan_quality._done(current, switched) == {("ring8", "ns", 0), ("ring8", "mm", 0)}


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("seed=3", "the sweep sets data.name, train.loss, seed itself"),
        ("model.g_layer=4", "did you mean 'model.g_layers'"),
    ],
)
def test_bad_set_is_refused_before_any_run(arg, message):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--summary", "--set", arg], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_paired_differences_per_seed_and_where_every_mode_is_kept(gan_quality, monkeypatch):
    def row(config, data, seed, jsd, modes, total=25):
        return {
            "config": config,
            "data": data,
            "loss": "ns",
            "seed": seed,
            "jsd": jsd,
            "modes_covered": modes,
            "modes_total": total,
        }

    rows = [
        row("new", "grid25", 0, 0.10, 25),
        row("old", "grid25", 0, 0.08, 25),
        row("new", "grid25", 1, 0.06, 25),
        row("old", "grid25", 1, 0.07, 25),
        row("new", "grid25", 2, 0.07, 25),
        row("old", "grid25", 2, 0.19, 16),  # a lost mode: left out of the second line
        row("new", "grid25", 3, 0.05, 25),  # no old row: not paired
        {**row("old", "grid25", 0, 0.5, 25), "loss": "mm"},  # MM rows are not NS rows
    ]
    monkeypatch.setattr(gan_quality, "_rows", lambda: rows)
    out = gan_quality.paired("new", "old").splitlines()
    assert out[1] == "grid25, all seeds (3): mean -0.0367, sd 0.0737; 0:+0.020 1:-0.010 2:-0.120"
    assert out[2] == "grid25, seeds where both keep every mode (2): mean +0.0050, sd 0.0212; 0:+0.020 1:-0.010"
    assert len(out) == 3  # no ring8 rows

    # one config's two losses, seed by seed
    rows += [{**row("new", "ring8", s, j, 8, 8), "loss": "mm"} for s, j in ((0, 0.03), (1, 0.04))]
    rows += [row("new", "ring8", s, j, 8, 8) for s, j in ((0, 0.05), (1, 0.05), (2, 0.06))]
    out = gan_quality.paired("new:mm", "new").splitlines()
    assert out == [
        "JSD̂ per seed, new:mm − new",
        "ring8, all seeds (2): mean -0.0150, sd 0.0071; 0:-0.020 1:-0.010",
        "ring8, seeds where both keep every mode (2): mean -0.0150, sd 0.0071; 0:-0.020 1:-0.010",
    ]


def test_paired_refuses_one_side_twice_or_an_unknown_loss():
    for args in (["abc", "abc:ns"], ["abc:xx", "def"]):
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--paired", *args], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2
        assert "two different CONFIG or CONFIG:LOSS (LOSS: ns or mm)" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_estimators_table_puts_each_seed_under_every_estimator_it_was_recorded_with(gan_quality, monkeypatch):
    current = gan_quality._current()
    named = gan_quality._estimator(gan_quality._config("ring8", "ns", 0))

    def row(seed, jsd, **extra):
        run = {"config": current["ns"], "data": "ring8", "loss": "ns", "seed": seed, "jsd": jsd}
        return {**run, "jsd_ci_low": jsd - 0.01, "jsd_ci_high": jsd + 0.01, **extra}

    rows = [
        row(0, 0.010),  # held-out estimate (no jsd_held_out)
        row(0, 0.015, jsd_held_out=0.010),  # the first all-samples critic
        row(0, 0.013, jsd_held_out=0.011, jsd_estimator=named),
        row(1, 0.020, jsd_held_out=0.018),
        row(1, 0.024, jsd_held_out=0.019, jsd_estimator=named),
        row(2, 0.030),  # not evaluated by today's estimator: not listed
    ]
    monkeypatch.setattr(gan_quality, "_rows", lambda: rows)
    out = gan_quality.estimators().splitlines()
    assert out[0].startswith("Estimators: (1) held-out; (2) all samples; critic batch 512, hidden 64")
    assert out[4:] == [
        "| ring8 | ns | 0 | 0.0100 | 0.0150 | **0.0130** [0.0030, 0.0230] | -0.0020 |",
        "| ring8 | ns | 1 | — | 0.0200 | **0.0240** [0.0140, 0.0340] | +0.0040 |",
        "| **ring8 ns, mean of 2** | | | 0.0100 | 0.0175 | **0.0185** (worst 0.0240) | +0.0010 |",
    ]
