"""The generator's manifold (gan_core.manifold), the grid-histogram divergences (gan_core.divergence) against a
direct numpy computation, and the Manifold page (AppTest): a ring8 run's warped mesh and JS/KL metrics, the
curve growing with the steps, and the one-line message for an image run."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers_ui import clean_registry, new_session, rendered, values  # noqa: F401

from gan_core import manifold
from gan_core.divergence import EPS, divergences, histogram

pytestmark = pytest.mark.usefixtures("one_thread")


class Linear(nn.Module):
    """G(z) = z W + b, with a (z_dim, out) W chosen by the test."""

    def __init__(self, w, b=None):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32))
        self.b = nn.Parameter(torch.zeros(self.w.shape[1]) if b is None else torch.as_tensor(b, dtype=torch.float32))

    def forward(self, z, y=None):
        return z @ self.w + self.b


class View:
    """What latent_plane reads of a GeneratorView."""

    def __init__(self, g, z_dim):
        self.G, self.z_dim, self.device = g, z_dim, torch.device("cpu")


# ---------------------------------------------------------------- grids and meshes

def test_grid_lines_are_two_families_of_straight_lines_over_the_span():
    g = manifold.grid_lines(21, 2.5, 41)
    assert g.shape == (2, 21, 41, 2)
    c = np.linspace(-2.5, 2.5, 21)
    np.testing.assert_allclose(g[0, :, :, 0], np.repeat(c[:, None], 41, 1))  # family 0: z1 = c_i fixed
    np.testing.assert_allclose(g[1, :, :, 1], np.repeat(c[:, None], 41, 1))  # family 1: z2 = c_j fixed
    np.testing.assert_allclose(g[0, 3, :, 1], np.linspace(-2.5, 2.5, 41))
    np.testing.assert_allclose(g[1, 3, :, 0], np.linspace(-2.5, 2.5, 41))
    with pytest.raises(ValueError, match="at least 2 lines"):
        manifold.grid_lines(1)


def test_mesh_is_g_of_the_grid_point_by_point_in_any_batch_size():
    torch.manual_seed(0)
    g = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).eval()
    gen = lambda z: g(z)  # noqa: E731
    plane = manifold.axes_plane(2)
    lines = manifold.grid_lines(5, 2.0, 7)
    m = manifold.mesh(gen, plane, lines)
    assert m.shape == (2, 5, 7, 2)
    with torch.no_grad():
        for fam, i, p in [(0, 0, 0), (0, 4, 6), (1, 2, 3), (1, 1, 5)]:
            want = g(torch.tensor(lines[fam, i, p], dtype=torch.float32)[None])[0].double().numpy()
            np.testing.assert_allclose(m[fam, i, p], want, rtol=1e-6, atol=1e-6)
    small = manifold.generate_batched(gen, plane.to_latent(lines), batch=3)
    np.testing.assert_allclose(small, m, rtol=1e-6, atol=1e-6)
    # a linear G maps the grid to the affine image of it: lines stay straight, evenly spaced
    a = np.array([[2.0, 0.5], [-1.0, 1.0]])
    lin = Linear(a, [1.0, -1.0])
    m2 = manifold.mesh(lambda z: lin(z), plane, lines)
    np.testing.assert_allclose(m2, lines @ a + np.array([1.0, -1.0]), rtol=1e-5, atol=1e-5)


def test_manifold_2d_projects_the_noise_and_maps_it_through_g():
    lin = Linear([[1.0, 0.0], [0.0, 3.0]])
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(1)).double().numpy()
    r = manifold.manifold_2d(lambda t: lin(t), manifold.axes_plane(2), z, n_lines=11, points=9)
    assert r["grid"].shape == r["mesh"].shape == (2, 11, 9, 2) and r["k"] == 2
    np.testing.assert_allclose(r["z_plane"], z)
    np.testing.assert_allclose(r["fake"], z * [1.0, 3.0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(r["mesh"][0, 10, :, 1], 3.0 * np.linspace(-2.5, 2.5, 9), rtol=1e-5)
    with pytest.raises(ValueError, match="needs 2D data"):
        manifold.manifold_2d(lambda t: t[:, :1], manifold.axes_plane(2), z)


def test_principal_plane_of_a_five_dimensional_latent_finds_the_directions_g_uses():
    # G(z) = (3 z3, 0.5 z1): output variance 9 along the first axis (moved by z3), 0.25 along the second (z1)
    w = np.zeros((5, 2))
    w[3, 0], w[1, 1] = 3.0, 0.5
    g = Linear(w)
    plane = manifold.latent_plane(View(g, 5))
    assert plane.kind == "principal" and plane.basis.shape == (2, 5)
    np.testing.assert_allclose(plane.basis @ plane.basis.T, np.eye(2), atol=1e-9)  # orthonormal
    assert abs(plane.basis[0, 3]) > 0.99 and abs(plane.basis[1, 1]) > 0.99
    assert plane.explained[0] > 0.95 > plane.explained[1]
    np.testing.assert_allclose(plane.origin, 0.0)  # through z = 0
    # the mesh is G over origin + u b0 + v b1: the line u = c of family 0 lands on x1 = +-3c
    r = manifold.manifold_2d(lambda t: g(t), plane, np.zeros((4, 5)), n_lines=5, points=3)
    sign = np.sign(plane.basis[0, 3])
    np.testing.assert_allclose(r["mesh"][0, :, 1, 0], sign * 3.0 * np.linspace(-2.5, 2.5, 5), atol=0.05)
    # a latent of two dimensions uses the axes themselves; one dimension a single line
    assert manifold.latent_plane(View(Linear(np.eye(2)), 2)).kind == "axes"
    one = manifold.manifold_2d(lambda t: torch.cat([t, t ** 2], 1), manifold.axes_plane(1), np.zeros((3, 1)))
    assert one["grid"].shape == (1, 1, manifold.LINE_POINTS, 2) and one["k"] == 1
    np.testing.assert_allclose(one["mesh"][0, 0, :, 1], np.linspace(-2.5, 2.5, manifold.LINE_POINTS) ** 2, rtol=1e-5)


def test_align_undoes_a_swap_and_a_sign_flip_of_the_principal_directions():
    basis = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 2)))[0].T  # (2, 6) orthonormal rows
    prev = manifold.Plane(np.zeros(6), basis, "principal", np.array([0.6, 0.4]))
    flipped = manifold.Plane(np.zeros(6), np.stack([-basis[1], basis[0]]), "principal", np.array([0.4, 0.6]))
    out = manifold.align(flipped, prev)
    np.testing.assert_allclose(out.basis, basis)
    np.testing.assert_allclose(out.explained, [0.6, 0.4])
    assert manifold.align(prev, prev).basis is not prev.basis  # a copy, same values
    np.testing.assert_allclose(manifold.align(prev, prev).basis, basis)


def test_1d_lines_join_normal_quantiles_to_g_of_them():
    r = manifold.lines_1d(lambda z: 4.0 + 0.5 * z, 1, n_lines=41)
    t = r["t"]
    assert t.shape == r["x"].shape == (41,) and np.all(np.diff(t) > 0)
    assert t[20] == pytest.approx(0.0, abs=1e-12) and t[0] == pytest.approx(-t[-1])
    phi = 0.5 * (1 + np.vectorize(math.erf)(t / math.sqrt(2)))
    np.testing.assert_allclose(phi, (np.arange(41) + 0.5) / 41, atol=1e-9)  # equal mass between neighbours
    np.testing.assert_allclose(r["x"], 4.0 + 0.5 * t, rtol=1e-6)
    r3 = manifold.lines_1d(lambda z: z[:, 2:3] * 2.0, 3, n_lines=5, direction=np.array([0.0, 0.0, 5.0]))
    np.testing.assert_allclose(r3["x"], 2.0 * r3["t"], rtol=1e-6)  # the direction is normalised
    with pytest.raises(ValueError, match="needs 1D data"):
        manifold.lines_1d(lambda z: torch.cat([z, z], 1), 1)


# ---------------------------------------------------------------- divergences

B2 = ((-3.0, 3.0), (-3.0, 3.0))


def _ring(n, seed, std=0.02):
    from gan_core.data.toy import load_toy
    pts, _ = load_toy("ring8").sample(n, torch.Generator().manual_seed(seed), torch.device("cpu"))
    return pts.double().numpy()


def test_identical_distributions_give_js_near_zero():
    a = _ring(4000, 1)
    same = divergences(a, a, B2)
    assert same["js"] == pytest.approx(0.0, abs=1e-12) and same["kl_real_fake"] == pytest.approx(0.0, abs=1e-12)
    two = divergences(a, _ring(4000, 2), B2)  # two samples of one distribution: a small estimate, not 0
    assert 0 < two["js"] < 0.01 and two["kl_real_fake"] < 0.05 and two["kl_fake_real"] < 0.05


def test_disjoint_distributions_give_js_near_ln2():
    a = _ring(2000, 1)
    b = np.random.default_rng(0).normal([0.0, 0.0], 0.05, size=(2000, 2))  # a blob at the centre: no mode there
    r = divergences(a, b, B2)
    assert r["js"] == pytest.approx(math.log(2), abs=2e-3)
    assert r["js"] <= math.log(2)
    thrown = divergences(a, a + 100.0, B2)  # every generated point outside the bounds: the overflow cell
    assert thrown["outside_fake"] == 1.0 and thrown["outside_real"] == 0.0
    assert thrown["js"] == pytest.approx(math.log(2), abs=2e-3)


def test_kl_is_asymmetric_on_a_known_example():
    # 1D, 2 cells over [0, 2]: real half in each cell, generated all in the first
    real = np.array([[0.5], [1.5]] * 50)
    fake = np.full((100, 1), 0.5)
    r = divergences(real, fake, ((0.0, 2.0),), bins=2, eps=EPS)
    p = np.array([0.5, 0.5, EPS]) / (1 + EPS)  # cells 0, 1, overflow
    q = np.array([1.0, EPS, EPS]) / (1 + 2 * EPS)
    assert r["kl_real_fake"] == pytest.approx(float(np.sum(p * np.log(p / q))), rel=1e-12)
    assert r["kl_fake_real"] == pytest.approx(float(np.sum(q * np.log(q / p))), rel=1e-12)
    assert r["kl_fake_real"] == pytest.approx(math.log(2), abs=1e-3)  # G's mass sits where half the data is
    assert r["kl_real_fake"] > 4 * r["kl_fake_real"]  # a missed half of the data costs far more


def test_divergences_match_a_direct_numpy_computation_on_the_same_histogram():
    rng = np.random.default_rng(3)
    real = _ring(3000, 4)
    fake = np.concatenate([rng.normal(0, 1.2, size=(2800, 2)), rng.normal(0, 6, size=(200, 2))])  # some outside
    bins = 30
    def hist(x):  # noqa: E306
        inside = (np.abs(x) <= 3).all(1)
        h, _, _ = np.histogram2d(x[inside, 0], x[inside, 1], bins=bins, range=B2)
        return np.append(h.ravel(), (~inside).sum())
    hr, hf = hist(real), hist(fake)
    np.testing.assert_array_equal(histogram(real, B2, bins), hr)
    np.testing.assert_array_equal(histogram(fake, B2, bins), hf)
    assert hf[-1] > 0
    def smooth(h):  # noqa: E306
        p = h / h.sum()
        p[p == 0] = EPS
        return p / p.sum()
    p, q = smooth(hr), smooth(hf)
    m = (p + q) / 2
    js = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    r = divergences(real, fake, B2, bins)
    assert r["js"] == pytest.approx(js, rel=1e-12)
    assert r["kl_real_fake"] == pytest.approx(np.sum(p * np.log(p / q)), rel=1e-12)
    assert r["kl_fake_real"] == pytest.approx(np.sum(q * np.log(q / p)), rel=1e-12)
    assert r["outside_fake"] == pytest.approx(hf[-1] / 3000)
    assert 0 < r["js"] < math.log(2)
    with_nan = fake.copy()
    with_nan[0] = np.nan
    assert histogram(with_nan, B2, bins)[-1] == hf[-1] + (1 if (np.abs(fake[0]) <= 3).all() else 0)


def test_a_collapsed_generator_scores_worse_than_a_spread_one():
    real = _ring(4000, 5)
    spread = _ring(4000, 6)
    collapsed = np.repeat(_ring(4000, 7)[:1], 4000, 0)  # every point on one mode
    good, bad = divergences(real, spread, B2), divergences(real, collapsed, B2)
    assert bad["js"] > 0.4 > 0.01 > good["js"]
    assert bad["kl_real_fake"] > bad["kl_fake_real"]  # missing 7 of 8 modes is what KL(real || fake) sees


def test_the_curve_keeps_one_point_per_step_and_restarts_after_a_rollback():
    from ui.manifold_view import _add_point
    curve = {"step": [], "js": [], "kl_real_fake": [], "kl_fake_real": []}
    for step in (0, 100, 100, 200, 300):
        _add_point(curve, step, {"js": step / 1000, "kl_real_fake": 1.0, "kl_fake_real": 2.0})
    assert curve["step"] == [0, 100, 200, 300] and curve["js"] == [0.0, 0.1, 0.2, 0.3]
    _add_point(curve, 150, {"js": 0.9, "kl_real_fake": 1.0, "kl_fake_real": 2.0})  # rolled back to step 150
    assert curve["step"] == [0, 100, 150] and curve["js"] == [0.0, 0.1, 0.9]
    assert all(len(v) == 3 for v in curve.values())


# ---------------------------------------------------------------- the page (AppTest)

def _manifold_page(preset: str, **overrides):
    from gan_core.presets import preset_config
    from helpers_ui import attached
    from ui.runs import get_registry
    at = rendered(new_session())
    run, _ = get_registry().replace(attached(at), preset_config(preset, **overrides), preset=preset)
    at.query_params["run"] = run.id
    at.switch_page("pages/manifold.py")
    return rendered(at), run


def _chart(at, key_trace: str) -> dict:
    found = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if key_trace in c.proto.spec]
    assert len(found) == 1, [c.proto.spec[:80] for c in at.get("plotly_chart")]
    return found[0]


@pytest.mark.usefixtures("clean_registry")
def test_manifold_page_draws_the_warped_mesh_and_the_divergences_of_a_ring8_run():
    at, run = _manifold_page("ring8")
    assert [t.value for t in at.title] == ["Manifold"]
    fig = _chart(at, "mesh z1=")
    names = [t.get("name", "") for t in fig["data"]]
    assert sum(n.startswith("mesh z1=") for n in names) == manifold.GRID_LINES
    assert sum(n.startswith("grid z1=") for n in names) == manifold.GRID_LINES
    assert {"real", "generated", "noise z", "mesh z2", "mesh z2=0"} <= set(names)
    # the mesh drawn is G of the grid: the line z1 = -2.5 through the run's current generator copy
    mesh0 = next(t for t in fig["data"] if t.get("name") == "mesh z1=-2.50")
    view = run.generator_view()
    line = manifold.grid_lines()[0, 0]
    want = view.generate(torch.tensor(line, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(values(mesh0["x"]), want[:, 0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(values(mesh0["y"]), want[:, 1], rtol=1e-4, atol=1e-4)
    assert fig["layout"]["xaxis2"]["range"] == [-3.0, 3.0]  # ring8's bounds while the points stay inside
    labels = {m.label: m.value for m in at.metric}
    assert {"JS divergence", "KL(real ‖ fake)", "KL(fake ‖ real)"} <= set(labels)
    js0 = float(labels["JS divergence"])
    assert 0 < js0 <= math.log(2) + 1e-9
    curve = _chart(at, "ln 2")
    assert len(values(next(t for t in curve["data"] if t["name"] == "JS")["x"])) == 1
    # train a little (no thread: run_steps pauses by itself), rerun: a second point on the curve, a new mesh
    run.run_steps(300)
    from helpers_ui import wait_until
    wait_until(lambda: run.step >= 300 and run.state == "paused", 60, "300 steps")
    rendered(at)
    curve = _chart(at, "ln 2")
    steps = values(next(t for t in curve["data"] if t["name"] == "JS")["x"])
    assert steps[0] == 0 and steps[-1] == 300 and len(steps) == 2
    mesh1 = next(t for t in _chart(at, "mesh z1=")["data"] if t.get("name") == "mesh z1=-2.50")
    assert not np.allclose(values(mesh1["x"]), values(mesh0["x"]), atol=1e-3)
    assert any("Divergences at step 300" in c.value for c in at.caption)


@pytest.mark.usefixtures("clean_registry")
def test_manifold_page_says_it_is_for_toy_data_on_an_image_run():
    at, _ = _manifold_page("digits", batch_size=16)
    assert any("for 1D/2D toy data" in i.value and "ring8" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.metric


@pytest.mark.usefixtures("clean_registry")
def test_manifold_page_on_1d_data_joins_z_to_g_of_z():
    at, _ = _manifold_page("gauss1d")
    fig = _chart(at, "Each z joined to G(z)")
    joins = [t for t in fig["data"] if t.get("name", "").startswith("z=")]
    assert len(joins) == 41 and all(values(t["y"]) == [0, 1] for t in joins)
    assert {"real", "generated"} <= {t.get("name") for t in fig["data"]}
    assert any("quantiles of N(0, 1) along z1" in c.value for c in at.caption)


def test_the_guide_explains_the_manifold_page():
    from streamlit.testing.v1 import AppTest
    from helpers_ui import ROOT
    at = rendered(AppTest.from_file(str(ROOT / "pages" / "guide.py"), default_timeout=30))
    text = " ".join(m.value for m in at.main.markdown)
    assert "### The generator's manifold" in text and "ring8_collapse" in text and "ln 2" in text


@pytest.mark.usefixtures("clean_registry")
def test_manifold_page_on_a_saved_run_opened_from_its_checkpoint():
    """A run saved and dropped from memory (the Runs page's Stop), opened again by its link: the page draws the
    checkpoint's generator, not a fresh one."""
    from gan_core.checkpoint import generator_from_checkpoint
    from helpers_ui import wait_until
    from ui.runs import get_registry
    _, run = _manifold_page("ring8")
    run.run_steps(200)
    wait_until(lambda: run.step >= 200 and run.state == "paused", 60, "200 steps")
    folder = get_registry().unload(run.id).parent
    assert get_registry().get(run.id) is None
    at = rendered(new_session(run.id))  # ?run=<id>: restored from runs/<id>/ (paused)
    at.switch_page("pages/manifold.py")
    rendered(at)
    assert get_registry().get(run.id).step == 200
    mesh = next(t for t in _chart(at, "mesh z1=")["data"] if t.get("name") == "mesh z1=-2.50")
    saved = generator_from_checkpoint(folder)
    want = saved.generate(torch.tensor(manifold.grid_lines()[0, 0], dtype=torch.float32)).numpy()
    np.testing.assert_allclose(values(mesh["x"]), want[:, 0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(values(mesh["y"]), want[:, 1], rtol=1e-4, atol=1e-4)
    assert any("Divergences at step 200" in c.value for c in at.caption)


@pytest.mark.usefixtures("clean_registry")
def test_the_train_page_draws_the_live_js_beside_the_losses_for_point_data_only():
    """JS is measured in the training loop every metrics_every steps (page open or not) and drawn in the Losses
    panel of the Train page, in nats like the losses; image runs have no such series."""
    from gan_core.presets import preset_config
    from helpers_ui import attached, chart_with, wait_until
    from ui.live_charts import JS_SERIES, JS_TITLE
    from ui.runs import get_registry
    at = rendered(new_session())
    run, _ = get_registry().replace(attached(at), preset_config("ring8_collapse", metrics_every=50),
                                    preset="ring8_collapse")
    at.query_params["run"] = run.id
    run.run_steps(400)
    wait_until(lambda: run.step >= 400 and run.state == "paused", 60, "400 steps")
    rendered(at)
    chart = chart_with(at, "train")
    losses = chart["spec"]["vconcat"][0]["layer"][0]["encoding"]["color"]["scale"]["domain"]
    assert losses[-1] == JS_SERIES and chart["spec"]["vconcat"][0]["title"] == JS_TITLE
    train = chart["data"]["train"]
    js = train[train.series == JS_SERIES]
    evals = run.evals.data[: run.evals.n]
    assert len(js) >= 7 and set(js.panel) == {"losses"} and all(js.step % 50 == 0)
    np.testing.assert_allclose(js.step.to_numpy(), evals[:, 0])
    np.testing.assert_allclose(js.value.to_numpy(), evals[:, run.evals.names.index("js")], rtol=1e-6)
    assert 0 < js.value.min() and js.value.max() <= math.log(2) + 1e-6
    at2 = rendered(new_session())
    img, _ = get_registry().replace(attached(at2), preset_config("digits", batch_size=16), preset="digits")
    at2.query_params["run"] = img.id
    img.run_steps(5)
    wait_until(lambda: img.step >= 5 and img.state == "paused", 60, "5 steps")
    rendered(at2)
    chart = chart_with(at2, "train")
    assert JS_SERIES not in chart["spec"]["vconcat"][0]["layer"][0]["encoding"]["color"]["scale"]["domain"]
    assert JS_SERIES not in set(chart["data"]["train"].series)
