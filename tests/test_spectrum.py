"""Image spectra (gan_core.spectrum) against a plain numpy FFT, a checkerboard's peak at the Nyquist
frequency, and the Upsampling page's live spectrum panel (AppTest)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers_ui import clean_registry, new_session, rendered  # noqa: F401

from gan_core.spectrum import EPS, mean_power_spectrum, radial_profile, spectrum_report


def test_spectrum_matches_numpy_fft_on_the_same_images():
    x = torch.rand(16, 3, 12, 12, generator=torch.Generator().manual_seed(0)) * 2 - 1
    gray = x.double().numpy().mean(1)
    want = np.log10(np.mean(np.abs(np.fft.fftshift(np.fft.fft2(gray), axes=(-2, -1))) ** 2, 0) + EPS)
    np.testing.assert_allclose(mean_power_spectrum(x), want, rtol=1e-12, atol=1e-12)
    prof = radial_profile(want)
    yy, xx = np.indices(want.shape)
    ring = np.rint(np.hypot(yy - 6, xx - 6)) == 3
    assert prof[3] == pytest.approx(want[ring].mean())
    assert prof.shape == (round(np.hypot(6, 6)) + 1,)


def test_a_checkerboard_peaks_at_the_highest_frequency():
    noise = torch.randn(32, 1, 16, 16, generator=torch.Generator().manual_seed(1)) * 0.1
    board = noise + 0.5 * (torch.arange(16)[:, None] + torch.arange(16)[None]).remainder(2).float() * 2 - 0.5
    r = spectrum_report(board, noise)
    diff = r["radial_difference"]
    assert int(np.argmax(diff)) == len(diff) - 1 and diff[-1] > 0.5 and r["high_frequency_excess"] > 0.1
    assert abs(spectrum_report(noise, noise)["high_frequency_excess"]) < 1e-12
    with pytest.raises(ValueError, match="differ in size"):
        spectrum_report(board, torch.zeros(2, 1, 8, 8))


@pytest.mark.usefixtures("clean_registry")
def test_upsampling_page_spectrum_of_the_digits_run():
    from gan_core.presets import preset_config
    from helpers_ui import attached
    from ui.runs import get_registry
    at = rendered(new_session())
    run, _ = get_registry().replace(attached(at), preset_config("digits", batch_size=16), preset="digits")
    at.query_params["run"] = run.id
    at.switch_page("pages/upsampling.py")
    rendered(at)
    charts = [c for c in at.get("plotly_chart") if "Radial average" in c.proto.spec]
    assert len(charts) == 1
    caption = next(c.value for c in at.caption if "High-frequency excess" in c.value)
    assert "512 generated images" in caption and "step 0" in caption.lower()
    at2 = rendered(new_session())
    toy, _ = get_registry().replace(attached(at2), preset_config("ring8"), preset="ring8")  # no images
    at2.query_params["run"] = toy.id
    at2.switch_page("pages/upsampling.py")
    rendered(at2)
    assert any("The spectrum needs images" in i.value for i in at2.info)


@pytest.mark.usefixtures("clean_registry")
def test_upsampling_page_spectrum_of_a_saved_run_opened_from_its_checkpoint():
    """The spectrum panel on a digits run saved and dropped from memory, opened again by its link: measured on the
    checkpoint's generator (the same numbers as spectrum_report on its images) at the saved step."""
    from gan_core.checkpoint import generator_from_checkpoint
    from gan_core.presets import preset_config
    from helpers_ui import attached, wait_until
    from ui.runs import get_registry
    from ui.spectrum_view import SAMPLES, measure
    at = rendered(new_session())
    run, _ = get_registry().replace(attached(at), preset_config("digits", batch_size=16), preset="digits")
    run.run_steps(30)
    wait_until(lambda: run.step >= 30 and run.state == "paused", 60, "30 steps")
    folder = get_registry().unload(run.id).parent
    at = rendered(new_session(run.id))
    at.switch_page("pages/upsampling.py")
    rendered(at)
    caption = next(c.value for c in at.caption if "High-frequency excess" in c.value)
    assert caption.startswith("Step 30:")
    loaded = get_registry().get(run.id)
    saved = generator_from_checkpoint(folder)
    z = saved.inputs(SAMPLES, torch.Generator().manual_seed(0))
    fake = saved.generate(z, torch.arange(SAMPLES) % saved.num_classes if saved.num_classes else None)
    report = measure(loaded)
    np.testing.assert_allclose(report["fake"], mean_power_spectrum(fake), atol=1e-6)
    assert f"{report['high_frequency_excess']:+.2f}" in caption
    # what the page plots: the "Generated" heatmap is numpy's FFT of the checkpoint's images
    import json

    from helpers_ui import values
    fig = json.loads(next(c for c in at.get("plotly_chart") if "Radial average" in c.proto.spec).proto.spec)
    z = fig["data"][1]["z"]  # a typed array {"dtype", "bdata", "shape"} (numpy input) or nested lists
    plotted = (np.array(values(z), dtype=float).reshape([int(n) for n in str(z["shape"]).split(",")])
               if isinstance(z, dict) else np.array(z, dtype=float))
    gray = fake.double().numpy().mean(1)
    want = np.log10(np.mean(np.abs(np.fft.fftshift(np.fft.fft2(gray), axes=(-2, -1))) ** 2, 0) + EPS)
    np.testing.assert_allclose(plotted, want, atol=1e-5)
