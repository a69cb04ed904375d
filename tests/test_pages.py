"""AppTest checks of the Latent lab and Diagnostics pages, and of the health alerts on Train/Diagnostics.

As in tests/test_app.py, AppTest runs the scripts in this process and shares the run registry
(``ui.runs.get_registry``); ``run_every`` never fires, so tests poll the Run and call ``at.run()``.
Images are compared through their media URLs (a hash of the encoded bytes); a spy on AppTest's in-memory
media storage gives the bytes themselves where a test needs them (the GIF).
"""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import torch

from helpers_ui import (chart_specs, clean_registry, error_texts, force_mode_collapse, new_session, rendered,  # noqa: F401
                        values, wait_until)  # also puts the repository root on sys.path

from gan_core.presets import preset_config  # noqa: E402
from gan_core.run import Run  # noqa: E402
from ui.runs import get_registry  # noqa: E402

DIGITS_IMAGES = 1797  # scikit-learn's bundled 8x8 digits


pytestmark = pytest.mark.usefixtures("clean_registry")  # empty registry before, no thread after


@pytest.fixture
def media(monkeypatch):
    """Bytes and mimetype of a media URL the app produced (spy on AppTest's in-memory storage)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    store: dict = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        file_id = real(self, path_or_data, mimetype, kind, filename)
        store[file_id] = (path_or_data, mimetype)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return lambda url: store[url.rsplit("/", 1)[-1].split(".")[0]]


# ---------------------------------------------------------------- helpers

def image_urls(at, caption_start: str) -> list[str]:
    """URLs of the st.image pictures whose caption starts with ``caption_start``."""
    return [img.url for el in at.get("image") for img in el.proto.imgs if img.caption.startswith(caption_start)]


def the_image(at, caption_start: str) -> str:
    urls = image_urls(at, caption_start)
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert len(urls) == 1, f"expected one image captioned {caption_start!r}, got {captions}"
    return urls[0]


def latent_page(preset: str | None = None):
    """A session on the Latent lab page; with ``preset``, the current run is rebuilt with it first."""
    at = rendered(new_session())
    run = get_registry().current()
    if preset is not None:
        run, _ = get_registry().replace(run, preset_config(preset), preset=preset)
    at.switch_page("pages/latent.py")
    rendered(at)
    assert [t.value for t in at.title] == ["Latent lab"]
    return at, run


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def trained(run, steps: int):
    run.set(max_steps=steps)
    run.start()
    wait_until(lambda: run.state == "finished", what=f"{steps} training steps")
    assert run.step == steps
    return run


# ---------------------------------------------------------------- latent lab

def test_latent_lab_on_ring8_draws_the_point_of_the_chosen_z():
    at, run = latent_page()
    assert run.config.data.dataset == "ring8" and not at.get("image")
    specs = [s for s in chart_specs(at) if "G(z), random z" in {t.get("name") for t in s["data"]}]
    assert len(specs) == 2  # the sliders tab and the interpolation tab
    # the sliders' chart marks G(z) for the seed-0 latent vector: compute it by hand
    z0 = torch.randn(2, generator=torch.Generator().manual_seed(0))
    expected = run.generator_view().generate(z0[None])[0]
    marks = [t for s in specs for t in s["data"] if t.get("name") == "G(z)" and len(values(t["x"])) == 1]
    assert len(marks) == 1
    assert values(marks[0]["x"])[0] == pytest.approx(float(expected[0]), abs=1e-5)
    assert values(marks[0]["y"])[0] == pytest.approx(float(expected[1]), abs=1e-5)
    assert any("Vector arithmetic is shown for image data" in i.value for i in at.info)


def test_latent_lab_on_digits_sliders_directions_gif_and_arithmetic(media):
    at, run = latent_page("digits")
    assert run.config.data.dataset == "digits"
    assert any("z has 32 dimensions" in c.value for c in at.caption)

    # raw z sliders: moving z[0] changes the picture, moving it back restores it
    first = the_image(at, "G(z), seed 0")
    z0_value = at.slider(key="lat_z_0").value
    at.slider(key="lat_z_0").set_value(2.5 if z0_value < 1.5 else -2.5)
    rendered(at)
    moved = the_image(at, "G(z), seed 0")
    assert moved != first
    at.slider(key="lat_z_0").set_value(z0_value)
    rendered(at)
    assert the_image(at, "G(z), seed 0") == first

    # principal directions: 8 sliders (z has 32 dims) labelled with their share of variance, largest first
    at.radio(key="lat_mode").set_value("principal directions")
    rendered(at)
    pcs = [s for s in at.slider if "% of variance" in s.label]
    assert [s.key for s in pcs] == [f"lat_pc_{k}" for k in range(8)]
    shares = [float(re.search(r"([\d.]+)% of variance", s.label).group(1)) for s in pcs]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 100
    assert not any(s.key == "lat_z_0" for s in at.slider)
    base = the_image(at, "G(z), seed 0")
    at.slider(key="lat_pc_0").set_value(3.0)
    rendered(at)
    assert the_image(at, "G(z), seed 0") != base

    # interpolation: a strip and a GIF to download, looping there and back (steps + steps - 2 frames)
    at.slider(key="lat_isteps").set_value(5)
    rendered(at)
    assert the_image(at, "spherical interpolation, seed 0 → seed 1, 5 steps")
    buttons = at.get("download_button")
    assert [b.label for b in buttons] == ["Download GIF"]
    data, mimetype = media(buttons[0].proto.url)
    assert mimetype == "image/gif" and data[:6] == b"GIF89a"
    from PIL import Image
    gif = Image.open(io.BytesIO(data))
    assert gif.n_frames == 5 + 5 - 2 and gif.size == (192, 192)

    # arithmetic on picked samples
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert "A − B + C (first), then with small noise added" in captions
    assert {"mean A", "mean B", "mean C"} <= set(captions)
    assert [f"#{i}" for i in range(24)] == [c for c in captions if c.startswith("#")]

    # class-mean arithmetic: the classifier labels 2,000 samples (z seed 11); count them by hand
    from gan_core.classifier import load_classifier
    assert any("Class-mean arithmetic" in m.value for m in at.markdown)
    view = run.generator_view()
    z = torch.randn(2000, view.z_dim, generator=torch.Generator().manual_seed(11))
    counts = torch.bincount(load_classifier("digits").predict(view.generate(z)), minlength=10).tolist()
    order = sorted(range(10), key=lambda k: -counts[k])
    a, b = order[0], order[1]
    at.selectbox(key="lat_ca").set_value(a)
    at.selectbox(key="lat_cb").set_value(b)
    at.selectbox(key="lat_cc").set_value(a)
    rendered(at)
    caption = f"mean z({a}) − mean z({b}) + mean z({a}) (from {counts[a]}, {counts[b]}, {counts[a]} samples)"
    assert image_urls(at, caption), [c for c in captions if c.startswith("mean z")]
    empty = [k for k in range(10) if counts[k] == 0]
    if empty:  # an untrained generator rarely draws every class
        at.selectbox(key="lat_cb").set_value(empty[0])
        rendered(at)
        assert any("produced no sample of one of these classes" in w for w in warnings(at))

    at.multiselect(key="lat_gA").set_value([])
    rendered(at)
    assert any("Pick at least one sample for each of A, B and C" in w for w in warnings(at))
    assert not image_urls(at, "A − B + C")


def test_latent_lab_checkpoint_source_renders_the_saved_generator(tmp_path, monkeypatch):
    saved = Run(preset_config("digits", batch_size=16))
    for _ in range(7):
        saved.trainer.step()
    saved.save(tmp_path / "runs" / "digits7")
    # ui.sources lists the runs folder ($GAN_PLAYGROUND_RUNS, else ./runs)
    monkeypatch.setenv("GAN_PLAYGROUND_RUNS", str(tmp_path / "runs"))

    at = rendered(new_session())
    registry = get_registry()
    restored = registry.add(Run.from_checkpoint(tmp_path / "runs" / "digits7"))  # the same weights, live
    at.query_params["run"] = restored.id
    at.switch_page("pages/latent.py")
    rendered(at)
    live = the_image(at, "G(z), seed 0")
    assert any("Generator at step 7" in c.value for c in at.caption)

    at.radio(key="lat_source").set_value("Checkpoint")
    rendered(at)
    assert at.selectbox(key="ckpt_pick").options == [str(tmp_path / "runs" / "digits7"), "other path…"]
    assert any("Generator at step 7 · z has 32 dimensions · digits" in c.value for c in at.caption)
    assert the_image(at, "G(z), seed 0") == live  # the checkpoint's generator draws the same picture

    at.radio(key="lat_source").set_value("Current run")  # psi 0 on the live run...
    rendered(at)
    at.slider(key="lat_psi").set_value(0.0)
    rendered(at)
    assert any("ψ = 0" in w.value for w in at.warning)  # ...says why the sliders look dead
    at.radio(key="lat_source").set_value("Checkpoint")  # another generator starts from psi = 1 again
    rendered(at)
    assert at.slider(key="lat_psi").value == 1.0 and not any("ψ = 0" in w.value for w in at.warning)

    fresh, _ = registry.replace(restored, restored.config)  # fresh weights live: the checkpoint's picture stays
    z = torch.randn(4, 32, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(fresh.generator_view().generate(z), saved.generator_view().generate(z))
    rendered(at)
    assert the_image(at, "G(z), seed 0") == live

    at.selectbox(key="ckpt_pick").set_value("other path…")
    rendered(at)
    at.text_input(key="ckpt_path").input(str(tmp_path / "nowhere"))
    rendered(at)
    assert any("no checkpoint at" in e for e in error_texts(at))
    at.text_input(key="ckpt_path").input(str(tmp_path / "runs" / "digits7"))
    rendered(at)
    assert not at.error and the_image(at, "G(z), seed 0") == live


# ---------------------------------------------------------------- diagnostics

def test_diagnostics_page_on_ring8_shows_coverage_and_per_mode_histogram():
    at = rendered(new_session())
    run = trained(get_registry().current(), 300)  # ring8 evaluates every 100 steps
    at.switch_page("pages/diagnostics.py")
    rendered(at)
    assert [t.value for t in at.title] == ["Diagnostics"]
    specs = chart_specs(at)
    cover = [s for s in specs if "modes covered" in json.dumps(s)]
    assert len(cover) == 1
    covered = next(t for t in cover[0]["data"] if t.get("name") == "modes covered")
    evals = dict(zip(run.evals.names, run.evals.data[: run.evals.n].T))
    assert values(covered["x"]) == [100.0, 200.0, 300.0]
    assert values(covered["y"]) == evals["modes_covered"].tolist()
    assert any(a.get("text") == "Modes covered (of 8)" for a in cover[0]["layout"]["annotations"])
    hist = [s for s in specs if s["layout"].get("title", {}).get("text") == "High-quality samples per mode"]
    assert len(hist) == 1
    bars = hist[0]["data"][0]
    assert bars["x"] == [str(i) for i in range(8)]
    # by hand: 2,500 samples (z seed 5), each counted for its nearest mode when within 3 std = 0.06
    view = run.generator_view()
    fake = view.generate(torch.randn(2500, 2, generator=torch.Generator().manual_seed(5)))
    dist, nearest = torch.cdist(fake, run.trainer.data.modes).min(1)
    counts = np.bincount(nearest[dist <= 0.06].numpy(), minlength=8)
    assert counts.sum() > 0
    np.testing.assert_allclose(values(bars["y"]), counts / counts.sum(), atol=1e-6)
    assert not at.get("image") and not at.get("button")  # no image metrics for toy data


def test_diagnostics_page_on_digits_histogram_memorisation_and_quality_metrics():
    at = rendered(new_session())
    run, _ = get_registry().replace(get_registry().current(), preset_config("digits"), preset="digits")
    trained(run, 300)
    at.switch_page("pages/diagnostics.py")
    rendered(at)
    assert run.evals.n >= 1  # the first class measurement runs at step 1

    specs = chart_specs(at)
    hist = [s for s in specs if s["layout"].get("title", {}).get("text", "").startswith("Classes the classifier")]
    assert len(hist) == 1
    bars = hist[0]["data"][0]
    assert bars["x"] == [str(i) for i in range(10)]
    counts = run.diagnostics.class_hist
    np.testing.assert_allclose(values(bars["y"]), counts / 2000, atol=1e-6)
    assert any("classes covered" == t.get("name") for s in specs for t in s["data"])

    # memorisation: the 8 samples (z seed 3) and their nearest training images, distances by hand
    assert [s.value for s in at.subheader] == ["Memorisation check", "Sample quality"]
    assert the_image(at, "Pairs: a generated sample, then its nearest training image")
    view = run.generator_view()
    fake = view.generate(torch.randn(8, view.z_dim, generator=torch.Generator().manual_seed(3)))
    train = run.trainer.data.images.cpu()
    expected = torch.cdist(fake.flatten(1).double(), train.flatten(1).double()).min(1).values.numpy()
    caption = next(c.value for c in at.caption if c.value.startswith("Pixel distances"))
    shown = [float(v) for v in caption.split(":")[1].split(";")[0].split(",")]
    np.testing.assert_allclose(shown, expected, atol=0.051)

    # quality metrics on demand, with the real-vs-real floor; 1,000 samples need 2,000 real images but
    # digits has 1,797, so both sets shrink to 1797 // 2 = 898
    at.selectbox(key="diag_n").set_value(1000)
    rendered(at)
    assert any(c.value.startswith(f"Uses **{DIGITS_IMAGES // 2:,}** per set") for c in at.caption), \
        [c.value for c in at.caption]  # said at the control, before anything is computed
    at.button(key="diag_compute").click()
    rendered(at)
    tables = [m.value for m in at.markdown if m.value.startswith("| metric |")]
    assert len(tables) == 1
    assert "Fréchet distance" in tables[0] and "real vs real" in tables[0]
    assert "Precision (k=3)" in tables[0] and "Coverage (k=5)" in tables[0]
    assert any(c.value.startswith(f"Generator at step 300; {DIGITS_IMAGES // 2} samples per set.") for c in at.caption)
    mean, std = (float(v) for v in re.search(r"Inception-style score, 10 splits \| \*\*([\d.]+) ± ([\d.]+)\*\*",
                                               tables[0]).groups())
    single = float(re.search(r"Inception-style score \| \*\*([\d.]+)\*\*", tables[0]).group(1))
    assert 1 <= mean <= 10 and 0 < std < 1 and abs(mean - single) < 3 * std + 0.5  # ten splits of 89-90
    fid, floor = (float(v) for v in re.search(r"Fréchet distance[^|]*\| \*\*([\d.]+)\*\* \| ([\d.]+) \|",
                                              tables[0]).groups())
    assert 0 <= floor < fid


# ---------------------------------------------------------------- alerts

def test_mode_collapse_alert_on_the_train_and_diagnostics_pages():
    at = rendered(new_session())
    assert not any("Mode collapse" in w for w in warnings(at))
    run = force_mode_collapse(get_registry().current())
    rendered(at)
    assert any("Mode collapse" in w and "Only 1 of 8 modes" in w for w in warnings(at)), warnings(at)
    assert any("Generated samples look alike" in w for w in warnings(at))
    at.switch_page("pages/diagnostics.py")
    rendered(at)
    assert any("Mode collapse" in w for w in warnings(at)), warnings(at)
    cover = [s for s in chart_specs(at) if "modes covered" in json.dumps(s)]
    covered = next(t for t in cover[0]["data"] if t.get("name") == "modes covered")
    assert values(covered["y"]) == [1.0, 1.0, 1.0]
    hist = [s for s in chart_specs(at) if s["layout"].get("title", {}).get("text") == "High-quality samples per mode"]
    assert values(hist[0]["data"][0]["y"]) == [1.0] + [0.0] * 7  # every sample on mode 0
    assert run.state == "ready"


def test_diagnostics_page_on_point_data_without_modes_points_to_the_js_curves():
    """gauss1d has no modes and no classifier, but its evaluations now carry JS and KL: the page says where
    they are drawn instead of drawing a coverage chart of nothing."""
    at = rendered(new_session())
    run, _ = get_registry().replace(get_registry().current(), preset_config("gauss1d"), preset="gauss1d")
    at.query_params["run"] = run.id
    trained(run, 200)
    assert run.evals.n >= 2
    at.switch_page("pages/diagnostics.py")
    rendered(at)
    assert any("JS divergence are on the Train page" in i.value and "Manifold page" in i.value for i in at.info)
    assert not chart_specs(at)
