"""The training loop: Algorithm 1's k, exact resume, divergence, checkpoint safety."""

import numpy as np
import pytest
import torch

from gan_core.callbacks import Callback
from gan_core.checkpoint import load_checkpoint, restore_rng
from gan_core.datasets import load_dataset
from gan_core.errors import CheckpointError, DivergenceError
from gan_core.runtime import autocast_dtype
from gan_core.train import CHECKPOINT_NAME, fit_gan, lr_left, r1_weight, sample
from tests.tiny import other_loss


class _Interrupt(Exception):
    pass


class _StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step(self, step, metrics):
        if step == self.step:
            raise _Interrupt


class _Recorder(Callback):
    def __init__(self):
        self.steps, self.samples, self.checkpoints, self.ended = [], [], [], 0

    def on_step(self, step, metrics):
        self.steps.append((step, metrics))

    def on_samples(self, step, samples):
        self.samples.append(step)

    def on_checkpoint(self, step, path):
        self.checkpoints.append(step)

    def on_end(self, result):
        self.ended += 1


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(tiny_cfg, tmp_path, k):
    cfg = tiny_cfg(f"train.k={k}", "train.k_end=null", "train.steps=12")
    fit_gan(cfg, load_dataset(cfg.data, cfg.seed), checkpoint_dir=tmp_path)
    state = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    # Adam counts its own updates: an independent count of D and G steps.
    d_updates = {int(s["step"]) for s in state["opt_d"]["state"].values()}
    g_updates = {int(s["step"]) for s in state["opt_g"]["state"].values()}
    assert d_updates == {12 * k} and g_updates == {12}


def test_k_rises_to_k_end_in_equal_parts_of_the_run(tiny_cfg, tmp_path):
    """k=1, k_end=3 over 12 steps: 4 steps each at k = 1, 2, 3 (Adam counts D's updates)."""
    cfg = tiny_cfg("train.k=1", "train.k_end=3", "train.steps=12")
    result = fit_gan(cfg, load_dataset(cfg.data, cfg.seed), checkpoint_dir=tmp_path)
    d_updates = {int(s["step"]) for s in load_checkpoint(tmp_path / CHECKPOINT_NAME)["opt_d"]["state"].values()}
    assert d_updates == {4 * 1 + 4 * 2 + 4 * 3} and result.d_steps == 24 and result.g_steps == 12


def test_callbacks_get_every_step_and_the_schedule(tiny_cfg, tmp_path):
    cfg = tiny_cfg()
    rec = _Recorder()
    result = fit_gan(cfg, load_dataset(cfg.data, cfg.seed), checkpoint_dir=tmp_path, callbacks=[rec])
    assert [s for s, _ in rec.steps] == list(range(1, 31))  # tests/tiny.py: 30 steps
    assert set(rec.steps[0][1]) == {"d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"}
    assert rec.checkpoints == rec.samples == [10, 20, 30] and rec.ended == 1  # every 10
    assert result.history["step"] == list(range(1, 31))
    assert sample(result.generator, 7, seed=1).shape == (7, 2)


@pytest.mark.parametrize("ema", ["0.0", "0.9"])
def test_resume_equals_uninterrupted_run(tiny_cfg, tmp_path, ema):
    cfg = tiny_cfg(f"train.ema={ema}")
    data = load_dataset(cfg.data, cfg.seed)
    straight = fit_gan(cfg, data, checkpoint_dir=tmp_path / "a")

    with pytest.raises(_Interrupt):  # dies after the step-20 checkpoint, mid-way to 30
        fit_gan(cfg, data, checkpoint_dir=tmp_path / "b", callbacks=[_StopAt(25)])
    resumed = fit_gan(cfg, data, checkpoint_dir=tmp_path / "b")

    assert resumed.resumed_from == 20 and resumed.g_steps == 10
    assert resumed.history == straight.history
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.discriminator.state_dict().values(), resumed.discriminator.state_dict().values()):
        assert torch.equal(a, b)


def test_resume_logs_the_step(tiny_cfg, tmp_path, caplog):
    cfg = tiny_cfg()
    data = load_dataset(cfg.data, cfg.seed)
    with pytest.raises(_Interrupt):
        fit_gan(cfg, data, checkpoint_dir=tmp_path, callbacks=[_StopAt(15)])
    with caplog.at_level("INFO"):
        fit_gan(cfg, data, checkpoint_dir=tmp_path)
    assert "resuming from step 10" in caplog.text


def test_loop_rng_state_is_restored_wherever_it_was_loaded():
    """The device handling of resume, on CPU: a state that fits continues the same stream
    whatever device or dtype it arrived as; a state made by another kind of device (a CUDA
    generator's 16 bytes) reseeds the stream instead of failing the resume."""
    rng = torch.Generator().manual_seed(3)
    saved = rng.get_state()
    expected = torch.randn(4, generator=rng)
    assert restore_rng(rng, saved.clone().to(torch.int64), reseed=99)  # as a tensor of another dtype
    assert torch.equal(torch.randn(4, generator=rng), expected)
    assert not restore_rng(rng, torch.zeros(16, dtype=torch.uint8), reseed=99)
    assert torch.equal(torch.randn(4, generator=rng), torch.randn(4, generator=torch.Generator().manual_seed(99)))


def test_checkpoint_from_another_kind_of_device_resumes(tiny_cfg, tmp_path, caplog):
    """A checkpoint whose noise stream was made on CUDA resumes on CPU: weights, optimisers and
    step continue exactly, the stream restarts from a stated seed."""
    cfg = tiny_cfg()
    data = load_dataset(cfg.data, cfg.seed)
    with pytest.raises(_Interrupt):
        fit_gan(cfg, data, checkpoint_dir=tmp_path, callbacks=[_StopAt(15)])
    path = tmp_path / CHECKPOINT_NAME
    state = torch.load(path, weights_only=True)
    state["rng"]["loop"] = torch.zeros(16, dtype=torch.uint8)  # a CUDA (Philox) generator's layout
    torch.save(state, path)
    with caplog.at_level("INFO"):
        resumed = fit_gan(cfg, data, checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 10 and resumed.g_steps == 20
    assert "made on another kind of device" in caplog.text
    assert np.isfinite(resumed.history["d_loss"]).all() and resumed.history["step"] == list(range(1, 31))


def test_incompatible_checkpoint_is_refused_with_reason(tiny_cfg, tmp_path):
    cfg = tiny_cfg()
    data = load_dataset(cfg.data, cfg.seed)
    fit_gan(cfg, data, checkpoint_dir=tmp_path)
    other = tiny_cfg(f"train.loss={other_loss()}")
    reason = f"train.loss: checkpoint '{cfg.train.loss}' vs now '{other.train.loss}'"
    with pytest.raises(CheckpointError, match=rf"refusing to resume.*{reason}"):
        fit_gan(other, data, checkpoint_dir=tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_checkpoint_is_refused(tiny_cfg, tmp_path, damage):
    cfg = tiny_cfg()
    data = load_dataset(cfg.data, cfg.seed)
    fit_gan(cfg, data, checkpoint_dir=tmp_path)
    path = tmp_path / CHECKPOINT_NAME
    blob = path.read_bytes()
    path.write_bytes({"truncate": blob[: len(blob) // 2], "garbage": b"not a checkpoint" * 10, "empty": b""}[damage])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        fit_gan(cfg, data, checkpoint_dir=tmp_path)


def test_divergence_stops_at_the_step_and_keeps_last_good_checkpoint(tiny_cfg, tmp_path):
    cfg = tiny_cfg()
    data = load_dataset(cfg.data, cfg.seed)

    class PoisonAfterFirstCheckpoint(Callback):  # the loop's data shares the numpy array's memory on CPU
        def on_checkpoint(self, step, path):
            if step == 10:
                self.kept = path.read_bytes()
                data.train[:] = float("nan")

    poison = PoisonAfterFirstCheckpoint()
    with pytest.raises(DivergenceError, match=r"diverged at step 11: d_loss is nan; last good checkpoint: step 10"):
        fit_gan(tiny_cfg("train.steps=20"), data, checkpoint_dir=tmp_path, callbacks=[poison])
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == poison.kept


def test_conv_pair_trains_on_digits(tiny_cfg):
    cfg = tiny_cfg("data.name=digits", "model.channels=8", "train.steps=3")
    data = load_dataset(cfg.data, cfg.seed)
    result = fit_gan(cfg, data)
    out = sample(result.generator, 5)
    assert out.shape == (5, 1, 8, 8) and out.min() >= -1 and out.max() <= 1


def _activation_dtypes(module: torch.nn.Module) -> set[torch.dtype]:
    """Records the dtypes of every Linear/Conv output of `module` while training runs."""
    seen: set[torch.dtype] = set()
    for m in module.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            m.register_forward_hook(lambda _m, _i, out: seen.add(out.dtype))
    return seen


def _fit_recording_dtypes(cfg):
    """Trains cfg and returns (result, dtypes of the discriminator's layer outputs)."""
    data = load_dataset(cfg.data, cfg.seed)
    seen = {}

    class Spy(Callback):
        def on_start(self, generator, discriminator):
            seen["d"] = _activation_dtypes(discriminator)

    result = fit_gan(cfg, data, callbacks=[Spy()])
    return result, seen["d"]


def test_precision_auto_is_fp32_on_cpu(tiny_cfg):
    assert autocast_dtype("auto", torch.device("cpu")) is None
    _, d_dtypes = _fit_recording_dtypes(tiny_cfg())
    assert d_dtypes == {torch.float32}


def test_bf16_autocast_path_trains_with_fp32_weights(tiny_cfg):
    """The mixed-precision code path (`precision: bf16`, for CUDA), exercised on CPU: the
    networks' forward passes run in bf16, weights and the loss history stay fp32 and finite."""
    result, d_dtypes = _fit_recording_dtypes(tiny_cfg("train.precision=bf16", "train.r1=0.1"))
    assert torch.bfloat16 in d_dtypes
    assert all(p.dtype == torch.float32 for p in result.discriminator.parameters())
    assert np.isfinite(result.history["d_loss"]).all() and len(result.history["d_loss"]) == 30


@pytest.mark.gpu
def test_cuda_path(tiny_cfg):
    cfg = tiny_cfg("device=cuda")
    result, d_dtypes = _fit_recording_dtypes(cfg)
    assert next(result.generator.parameters()).is_cuda
    assert d_dtypes == {torch.float32}  # precision auto: fp32 on CUDA too (bf16 was slower there)
    assert np.isfinite(result.history["d_loss"]).all()
    if torch.cuda.is_bf16_supported():  # bf16 when asked for, weights fp32
        result, d_dtypes = _fit_recording_dtypes(tiny_cfg("device=cuda", "train.precision=bf16"))
        assert torch.bfloat16 in d_dtypes and np.isfinite(result.history["d_loss"]).all()
        assert all(p.dtype == torch.float32 for p in result.discriminator.parameters())


@pytest.mark.gpu
def test_cuda_conv_pair_and_sampling(tiny_cfg):
    cfg = tiny_cfg("device=cuda", "data.name=digits", "model.channels=8", "train.steps=5")
    result = fit_gan(cfg, load_dataset(cfg.data, cfg.seed))
    out = sample(result.generator, 5)
    assert out.dtype == np.float32 and out.shape == (5, 1, 8, 8) and np.isfinite(out).all()


@pytest.mark.gpu
def test_cuda_resume_equals_uninterrupted_run(tiny_cfg, tmp_path):
    """The checkpoint's loop-RNG state is loaded onto the device, but a generator's state is
    always a CPU tensor: resuming on CUDA must set it from the CPU copy."""
    cfg = tiny_cfg("device=cuda", "train.precision=fp32")
    data = load_dataset(cfg.data, cfg.seed)
    straight = fit_gan(cfg, data, checkpoint_dir=tmp_path / "a")
    with pytest.raises(_Interrupt):
        fit_gan(cfg, data, checkpoint_dir=tmp_path / "b", callbacks=[_StopAt(25)])
    resumed = fit_gan(cfg, data, checkpoint_dir=tmp_path / "b")
    assert resumed.resumed_from == 20
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.allclose(a, b)


def test_learning_rates_hold_then_decay_to_zero(tiny_cfg):
    """lr_hold=0.25, power 2 over 100 steps: full rates to step 25, then (1 - t)^2 over the rest."""
    tc = tiny_cfg("train.steps=100", "train.lr_hold=0.25", "train.lr_decay_power=2").train
    assert lr_left(0, tc) == lr_left(25, tc) == 1.0
    assert lr_left(100, tc) == 0.0
    assert abs(lr_left(62.5, tc) - 0.25) < 1e-12  # half-way through the decay: (1/2)^2
    plain = tiny_cfg("train.steps=100", "train.lr_hold=0", "train.lr_decay_power=1").train
    assert abs(lr_left(40, plain) - 0.6) < 1e-12


def test_r1_holds_then_moves_log_linearly_to_its_end(tiny_cfg):
    """r1 0.1 → 0.001 over 101 steps: without a hold the geometric mean at step 50; with
    r1_hold=0.2 the full weight to step 20, the geometric mean half-way through the rest."""
    tc = tiny_cfg("train.steps=101", "train.r1=0.1", "train.r1_end=0.001", "train.r1_hold=0").train
    assert r1_weight(0, tc) == 0.1 and abs(r1_weight(100, tc) - 0.001) < 1e-12
    assert abs(r1_weight(50, tc) - 0.01) < 1e-12
    held = tiny_cfg("train.steps=101", "train.r1=0.1", "train.r1_end=0.001", "train.r1_hold=0.2").train
    assert r1_weight(0, held) == r1_weight(20, held) == 0.1
    assert abs(r1_weight(60, held) - 0.01) < 1e-12 and abs(r1_weight(100, held) - 0.001) < 1e-12
    constant = tiny_cfg("train.r1=0.1", "train.r1_end=null", "train.r1_hold=0.5").train
    assert r1_weight(7, constant) == 0.1
    fall = tiny_cfg("train.steps=100", "train.r1=0.1", "train.r1_end=0.001", "train.r1_hold=0.2", "train.r1_fall=0.4")
    tc = fall.train  # full to step 20, the geometric mean at step 40, r1_end from step 60 on
    assert r1_weight(20, tc) == 0.1 and abs(r1_weight(40, tc) - 0.01) < 1e-12
    assert abs(r1_weight(60, tc) - 0.001) < 1e-12 and abs(r1_weight(99, tc) - 0.001) < 1e-12


def test_lazy_r1_penalises_every_nth_step_at_n_times_the_weight(tiny_cfg, monkeypatch):
    """train.r1_every=4: D's and the fine D's penalties only on the D steps of steps 0, 4, 8, …
    at 4× the weight (the fine D's still its fraction of D's), so each one's mean is unchanged."""
    import gan_core.train as train_mod

    seen: list[tuple[str, float]] = []
    step = train_mod.discriminator_step

    def recording(D, opt, x, fake, r1=0.0, amp=None):
        seen.append(("fine" if D.features else "D", r1))
        return step(D, opt, x, fake, r1, amp)

    monkeypatch.setattr(train_mod, "discriminator_step", recording)
    lazy = ("train.r1=0.5", "train.r1_end=null", "train.fine_d_r1=0.1", "train.r1_every=4")
    cfg = tiny_cfg("train.steps=12", "train.k=1", "train.k_end=null", *lazy)
    fit_gan(cfg, load_dataset(cfg.data, 0))
    d = [r1 for who, r1 in seen if who == "D"]
    fine = [r1 for who, r1 in seen if who == "fine"]
    assert d == [2.0, 0.0, 0.0, 0.0] * 3
    assert fine == pytest.approx([0.2, 0.0, 0.0, 0.0] * 3)
    assert sum(d) / len(d) == 0.5


def test_fine_discriminator_reaches_g_only_through_its_loss_from_its_start(tiny_cfg, tmp_path):
    """The fine D trains beside D from the start, but G's steps change only once G sees it:
    before `fine_d_from` (here never) the run is the one without it, step for step."""
    data = load_dataset(tiny_cfg().data, 0)
    without = fit_gan(tiny_cfg("model.fine_d_features=0"), data, checkpoint_dir=tmp_path / "a")
    unseen = fit_gan(tiny_cfg("train.fine_d_from=1.0"), data, checkpoint_dir=tmp_path / "b")
    seen = fit_gan(tiny_cfg("train.fine_d_from=0.5"), data, checkpoint_dir=tmp_path / "c")
    assert unseen.history == without.history
    assert seen.history["g_loss"][:15] == without.history["g_loss"][:15]
    assert seen.history["g_loss"][15:] != without.history["g_loss"][15:]
    assert "discriminator_fine" not in load_checkpoint(tmp_path / "a" / CHECKPOINT_NAME)
    assert "discriminator_fine" in load_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)


def test_fine_discriminator_trains_only_from_its_fraction(tiny_cfg, tmp_path):
    """Before train.fine_d_train_from the fine D takes no step (its cost is saved); G's steps
    are the same as when it trains from the start, since G sees it only from fine_d_from."""
    data = load_dataset(tiny_cfg().data, 0)
    full = fit_gan(tiny_cfg("train.fine_d_from=0.5"), data, checkpoint_dir=tmp_path / "a")
    late = fit_gan(
        tiny_cfg("train.fine_d_from=0.5", "train.fine_d_train_from=0.5"), data, checkpoint_dir=tmp_path / "b"
    )

    def adam_steps(run: str, opt: str) -> int:
        state = load_checkpoint(tmp_path / run / CHECKPOINT_NAME)[opt]["state"]
        return int(next(iter(state.values()))["step"])

    assert adam_steps("a", "opt_fine") == adam_steps("a", "opt_d") == full.d_steps
    assert 0 < adam_steps("b", "opt_fine") < adam_steps("b", "opt_d") == late.d_steps
    assert late.history["g_loss"][:15] == full.history["g_loss"][:15]


def test_fine_discriminator_r1_is_a_fraction_of_ds(tiny_cfg, tmp_path):
    """train.fine_d_r1 scales the fine D's penalty only: while G does not see the fine D (here
    never) D's and G's steps are those of the same run at the full penalty, and the fine D's
    weights are not (the penalty reaches it, and D's does not)."""
    data = load_dataset(tiny_cfg().data, 0)
    base = ("train.fine_d_from=1.0", "train.fine_d_r1=1", "train.r1=1.0", "train.r1_end=null")
    full = fit_gan(tiny_cfg(*base), data, checkpoint_dir=tmp_path / "a")
    free = fit_gan(tiny_cfg(*base, "train.fine_d_r1=0"), data, checkpoint_dir=tmp_path / "b")
    no_r1 = fit_gan(tiny_cfg("train.fine_d_from=1.0", "train.r1=0"), data, checkpoint_dir=tmp_path / "c")
    assert free.history == full.history != no_r1.history

    def same(part: str) -> bool:  # the part's every tensor equal in runs a and b
        a, b = (load_checkpoint(tmp_path / run / CHECKPOINT_NAME)[part] for run in "ab")
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    assert same("discriminator") and not same("discriminator_fine")


def test_fine_discriminator_must_train_before_g_sees_it(tiny_cfg):
    from gan_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train.fine_d_train_from \(0.6\) is after train.fine_d_from \(0.5\)"):
        tiny_cfg("train.fine_d_from=0.5", "train.fine_d_train_from=0.6")


def test_fine_discriminator_is_for_vector_data_only(tiny_cfg):
    from gan_core.models import build_fine_discriminator

    cfg = tiny_cfg()
    assert build_fine_discriminator(cfg.model, (2,)).features == cfg.model.fine_d_features > 0
    assert build_fine_discriminator(cfg.model, (1, 8, 8)) is None
    assert build_fine_discriminator(tiny_cfg("model.fine_d_features=0").model, (2,)) is None


def test_fine_discriminator_width_is_its_own_or_ds(tiny_cfg):
    """model.fine_d_hidden sets the fine D's width apart from D's (the default is narrower);
    null makes it as wide as D."""
    from gan_core.models import build_fine_discriminator

    def widths(cfg):
        net = build_fine_discriminator(cfg.model, (2,))
        return {m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)} - {1}

    assert widths(tiny_cfg("model.fine_d_hidden=24")) == {24}
    assert widths(tiny_cfg("model.hidden=40", "model.fine_d_hidden=null")) == {40}


def test_mm_from_switches_g_to_mm_at_its_fraction(tiny_cfg, tmp_path):
    """NS's loss -log D(G(z)) is positive and MM's log(1 - D(G(z))) negative: the sign of G's
    loss shows which one each step used. Before the switch the run is the NS run, step for step."""
    data = load_dataset(tiny_cfg().data, 0)
    ns = fit_gan(tiny_cfg("train.loss=ns", "train.mm_from=null"), data, checkpoint_dir=tmp_path / "a").history["g_loss"]
    switched = fit_gan(tiny_cfg("train.loss=ns", "train.mm_from=0.5"), data, checkpoint_dir=tmp_path / "b")
    g_loss = switched.history["g_loss"]
    assert g_loss[:15] == ns[:15] and all(v > 0 for v in g_loss[:15])
    assert all(v < 0 for v in g_loss[15:]) and len(g_loss) == 30


def test_mm_from_changes_nothing_under_the_mm_loss(tiny_cfg, tmp_path):
    """`train.loss=mm` must work beside a default `mm_from`: MM throughout, the plain MM run step for step."""
    data = load_dataset(tiny_cfg().data, 0)
    mm = fit_gan(tiny_cfg("train.loss=mm", "train.mm_from=null"), data, checkpoint_dir=tmp_path / "a").history["g_loss"]
    also = fit_gan(tiny_cfg("train.loss=mm", "train.mm_from=0.5"), data, checkpoint_dir=tmp_path / "b")
    assert also.history["g_loss"] == mm and all(v < 0 for v in mm)


def test_generator_output_noise_is_learned_and_drawn_from_the_latent(tiny_cfg, tmp_path):
    """model.g_noise: the last d latent entries are the output noise ε, scaled by a learned s
    (so a sample stays a function of z); training moves s; the run resumes and reloads exactly."""
    from gan_core.checkpoint import load_generator, save_generator
    from gan_core.evaluate import evaluate_gan
    from gan_core.models import build_models

    cfg = tiny_cfg("model.g_noise=0.5")
    G, _ = build_models(cfg.model, (2,))
    assert G.z_dim == cfg.model.z_dim + 2 and torch.allclose(G.log_noise.exp(), torch.tensor([0.5, 0.5]))
    z = torch.randn(4000, G.z_dim)
    moved = z.clone()
    moved[:, -2:] += 1.0  # ε one unit further: x moves by exactly s (data std 1 here)
    assert torch.allclose(G(moved) - G(z), torch.full((4000, 2), 0.5), atol=1e-5)

    data = load_dataset(cfg.data, cfg.seed)
    straight = fit_gan(cfg, data, checkpoint_dir=tmp_path / "a")
    assert not torch.allclose(straight.generator.log_noise.exp(), torch.tensor([0.5, 0.5]))
    with pytest.raises(_Interrupt):
        fit_gan(cfg, data, checkpoint_dir=tmp_path / "b", callbacks=[_StopAt(25)])
    resumed = fit_gan(cfg, data, checkpoint_dir=tmp_path / "b")
    assert resumed.history == straight.history
    assert np.array_equal(sample(straight.generator, 50, seed=3), sample(resumed.generator, 50, seed=3))
    path = save_generator(tmp_path / "g.pt", resumed.generator, resumed.config, (2,), resumed.identity)
    reloaded, _ = load_generator(path)
    assert reloaded.z_dim == G.z_dim
    assert np.array_equal(sample(reloaded, 50, seed=3), sample(resumed.generator, 50, seed=3))
    learned = (resumed.generator.log_noise.exp() * resumed.generator.data_std).mean().item()
    assert evaluate_gan(resumed.generator, data, cfg).metrics["g_noise_std"] == pytest.approx(learned)


def test_generator_output_noise_is_off_by_default_and_for_images(tiny_cfg):
    from gan_core.models import build_models

    G, _ = build_models(tiny_cfg().model, (2,))
    assert G.z_dim == tiny_cfg().model.z_dim and not hasattr(G, "log_noise")
    G, _ = build_models(tiny_cfg("model.g_noise=0.5").model, (1, 8, 8))
    assert G.z_dim == tiny_cfg().model.z_dim
