"""The setup dialog: pick a preset, edit every setting (data, model, loss, training), load or download the
configuration as JSON, then start a NEW run with fresh weights (the current one is paused, saved when it
trained, and kept under Runs; nothing is overwritten). Opened from the control bar's Setup button, so it
never sits above the live picture; hidden from viewers in lecture mode.

Choosing a preset fills the fields with its settings but keeps the data folder, image folder and
download choice typed here (the preset does not know where your files are). There is no form: Enter in a
text field never starts anything; only the "Start new run" button does. Any bad value or missing file is
shown as an error naming the field and the current run stays as it was.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import streamlit as st

from gan_core.config import ACTIVATIONS, DATASETS, DCGAN_SIZES, LOSS_NAMES, Config
from gan_core.data.limits import UploadLimits
from gan_core.families import FAMILIES
from gan_core.presets import PRESETS, preset_config
from gan_core.run_loop import is_out_of_memory
from ui import draw
from ui.family_view import family_fields, family_title
from ui.lecture import refuse
from ui.runs import get_registry
from ui.text import plain, plural

UPLOAD_DIR = Path("data") / "uploads"
KEEP_ON_PRESET = ("data_dir", "path", "source_path", "download")  # where the user's files are: a preset does not change it
CUSTOM = "(custom)"


def _key(name: str) -> str:
    return f"setup_{name}"


def _fill(config: Config, keep: tuple = ()) -> None:
    """Write ``config`` into the dialog's widgets (except the fields in ``keep``)."""
    for name, value in config.flat().items():
        if name not in keep or _key(name) not in st.session_state:
            st.session_state[_key(name)] = value


def open_setup(run) -> None:
    """Open the dialog on the run's current settings (button callback)."""
    if refuse():
        return
    _fill(run.config)
    draw.load(run.config.data.points)  # unless the drawing here holds edits not trained on yet
    st.session_state["setup_preset"] = run.preset if run.preset in PRESETS else CUSTOM
    st.session_state.pop("_setup_error", None)
    st.session_state["_dialog"] = "setup"


def _preset_chosen() -> None:
    name = st.session_state.get("setup_preset")
    if name in PRESETS:
        config = preset_config(name)
        _fill(config, keep=KEEP_ON_PRESET)
        if not draw.draft_points():  # like the data folder, a drawing stays (a starter shape replaces it)
            draw.load(config.data.points, force=True)


def _closed() -> None:
    st.session_state.pop("_dialog", None)


def _save_upload(upload) -> str:
    """Store an uploaded .zip under data/uploads/ by content hash; return its path."""
    data = upload.getvalue()
    limit = UploadLimits.from_env().max_upload_mb
    if len(data) > limit * 2**20:
        raise ValueError(f"the upload is {len(data) / 2**20:.0f} MB, over the {limit} MB limit "
                         "(GAN_PLAYGROUND_MAX_UPLOAD_MB)")
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    path = UPLOAD_DIR / f"{hashlib.sha256(data).hexdigest()[:16]}.zip"
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return str(path)


def _values() -> dict:
    v = {name: st.session_state[_key(name)] for name in Config().flat() if _key(name) in st.session_state}
    drawn = "drawn" in (v.get("dataset"), v.get("source"))
    v["points"] = draw.draft_points() if drawn else ()  # the canvas's drawing; other data keeps none
    return v


def _start_new_run(run) -> None:
    """Build the new run from the dialog's values; on success switch this session to it."""
    if refuse():
        return
    v = _values()
    upload = st.session_state.get("setup_upload")
    bar = st.progress(0.0, text="Loading data…")
    try:
        if upload is not None:
            v["path"], v["dataset"] = _save_upload(upload), "folder"
        config = Config.from_dict(v)
        preset = st.session_state.get("setup_preset")
        new, note = get_registry().replace(
            run, config, preset=preset if preset in PRESETS else None,
            progress=lambda msg, frac: bar.progress(min(max(frac, 0.0), 1.0), text=msg))
    except (ValueError, OSError, RuntimeError) as exc:
        st.session_state["_setup_error"] = str(exc)
        if is_out_of_memory(exc):
            st.session_state["_setup_error"] = (f"Out of memory building this run ({exc}). Try a smaller batch "
                                                "size or model, or fewer images; the current run is unchanged.")
        bar.empty()
        return
    bar.empty()
    draw.applied()
    st.session_state.pop("_setup_error", None)
    st.session_state.pop("_dialog", None)
    st.query_params["run"] = new.id
    st.toast(f"New run {new.id}. {plain(note)}".strip(), icon=":material/fiber_new:")
    st.rerun()


@st.dialog("Set up a new run", width="large", on_dismiss=_closed)
def setup_dialog(run) -> None:
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    c1.selectbox("Preset", [CUSTOM] + list(PRESETS), key="setup_preset", on_change=_preset_chosen,
                 help="Fills every field below with the preset's settings (your data folder stays).")
    name = st.session_state.get("setup_preset")
    c2.caption(PRESETS[name][0] if name in PRESETS else "Your own settings; pick a preset to start from one.")
    _dataset_hint(name)
    tabs = st.tabs(["Data", "Model", "Loss", "Training", "Import / export"])
    with tabs[0]:
        _data_fields(run)
    with tabs[1]:
        _model_fields()
    with tabs[2]:
        _loss_fields()
    with tabs[3]:
        _training_fields()
    with tabs[4]:
        _config_json()
    if run.unsaved_steps:
        st.caption(f"Run {run.id} has {plural(run.unsaved_steps, 'unsaved step')}: it will be paused and saved to "
                   f"{plain(run.autosave_dir)}/, and stays under Runs.")
    c = st.columns([2, 1, 3])
    if c[0].button("Start new run", key="btn_setup_start", type="primary", icon=":material/fiber_new:",
                   width="stretch", help="Fresh weights with these settings, as a new run."):
        _start_new_run(run)
    if c[1].button("Cancel", key="btn_setup_cancel", width="stretch"):
        _closed()
        st.rerun()
    if st.session_state.get("_setup_error"):  # below the button, so a failed start shows at once
        st.error(plain(st.session_state["_setup_error"]))
    elif st.session_state.get("_setup_loaded"):  # outside the tabs: seen whichever tab is open
        st.success(st.session_state.pop("_setup_loaded"))


def _dataset_hint(preset) -> None:
    """Choosing a dataset that has its own preset, on another preset's model: say so."""
    dataset = st.session_state.get(_key("dataset"))
    if preset in PRESETS and preset_config(preset).data.dataset == dataset:
        return
    match = next((p for p in PRESETS if p == dataset), None)
    if match is not None:
        st.info(f"There is a **{match}** preset for this dataset ({PRESETS[match][0]}). Choose it above to get its "
                "model and settings; your data folder stays.", icon=":material/lightbulb:")


def _data_fields(run) -> None:
    dataset_help = "drawn: your own points, drawn on a canvas here (click for a point, drag for a stroke)."
    if "drawn" in (st.session_state.get(_key("dataset")), st.session_state.get(_key("source"))):
        top = draw.draw_panel(run.config.data.points)  # the canvas first, the dataset beside it
        top.selectbox("Dataset", DATASETS, key=_key("dataset"), help=dataset_help)
        c = st.columns(3)
        c[0].number_input("Jitter std around each drawn point", 0.0, 0.5, step=0.01, key=_key("point_std"),
                          format="%.3f", help="data.point_std: the std of the Gaussian noise added to a drawn "
                                              "point each time it is sampled; 0 = exactly the drawn points.")
    else:
        c = st.columns(3)
        c[0].selectbox("Dataset", DATASETS, key=_key("dataset"), help=dataset_help)
    c[1].number_input("Image size (0 = native)", 0, 128, key=_key("image_size"),
                      help=f"DCGAN needs one of {list(DCGAN_SIZES)}.")
    c[2].selectbox("Channels (0 = native)", (0, 1, 3), key=_key("channels"))
    c = st.columns(3)
    c[0].text_input("Data folder (MNIST files)", key=_key("data_dir"), placeholder="./data or $GAN_PLAYGROUND_DATA")
    c[1].text_input("Image folder or .zip (dataset = folder)", key=_key("path"))
    c[2].number_input("Max images (0 = all)", 0, 10_000_000, key=_key("max_images"))
    st.file_uploader("…or upload a .zip of images (dataset = folder)", type=["zip"], key="setup_upload")
    st.checkbox("Download MNIST / Fashion-MNIST when missing", key=_key("download"))


def _model_fields() -> None:
    c = st.columns([1.2, 2])
    c[0].selectbox("Kind of GAN", list(FAMILIES), key=_key("family"), format_func=family_title,
                   help="\n\n".join(f"**{f.title}**: {f.about}" for f in FAMILIES.values()))
    chosen = FAMILIES.get(st.session_state.get(_key("family")), FAMILIES["gan"])
    c[1].caption(chosen.about + ("" if chosen.uses_loss else " (its own loss: the Loss tab's choice is not used)"))
    family_fields(chosen.name, _key)
    c = st.columns(4)
    c[0].selectbox("Architecture", ("mlp", "dcgan"), key=_key("arch"))
    c[1].number_input("Latent size z", 1, 512, key=_key("z_dim"))
    c[2].number_input("Label / code embedding", 1, 512, key=_key("embed_dim"))
    c[3].number_input("PacGAN pack (1 = off)", 1, 8, key=_key("pack"),
                      help="D judges packs of this many samples at once (Lin et al. 2018): a collapsed G's packs "
                           "look alike, so D spots collapse. Plain GAN and unrolled GAN.")
    c = st.columns(4)
    c[0].number_input("MLP G width", 4, 4096, key=_key("g_hidden"))
    c[1].number_input("MLP D width", 4, 4096, key=_key("d_hidden"))
    c[2].number_input("MLP depth", 1, 8, key=_key("depth"))
    c[3].selectbox("MLP activation", ACTIVATIONS, key=_key("activation"))
    c = st.columns(4)
    c[0].number_input("DCGAN G channels", 4, 512, key=_key("ngf"))
    c[1].number_input("DCGAN D channels", 4, 512, key=_key("ndf"))
    c[2].selectbox("Upsampling", ("transposed", "resize", "mixed", "transposed3"), key=_key("upsample"),
                   help="transposed: transposed conv, kernel 4, stride 2 (DCGAN). resize: nearest upsample + conv, "
                        "no checkerboard. mixed: resize, then transposed in the last two layers. transposed3: "
                        "kernel 3, stride 2 — uneven overlap, checkerboards on purpose (see the Upsampling page).")
    c[3].selectbox("G norm", ("none", "batch"), key=_key("g_norm"))
    c = st.columns(4)
    c[2].checkbox("Minibatch std in D", key=_key("mbstd"),
                  help="D sees how varied its batch is (Karras et al. 2018): one extra feature, the batch's std.")
    c[3].selectbox("D norm", ("none", "batch", "spectral"), key=_key("d_norm"))


def _loss_fields() -> None:
    c = st.columns(4)
    c[0].selectbox("Loss", LOSS_NAMES, key=_key("loss"))
    c[1].number_input("R1 gamma", 0.0, 1000.0, key=_key("r1_gamma"), format="%.3g")
    c[2].number_input("R1 every k D steps (lazy)", 1, 64, key=_key("r1_every"))
    c[3].number_input("GP weight (WGAN-GP, DRAGAN)", 0.0, 1000.0, key=_key("gp_weight"))
    c = st.columns(4)
    c[0].number_input("Label smoothing", 0.0, 0.5, key=_key("label_smoothing"))
    c[1].number_input("Instance noise", 0.0, 5.0, key=_key("instance_noise"))
    c[2].number_input("Noise anneal steps", 0, 10_000_000, key=_key("noise_anneal_steps"))
    c[3].number_input("WGAN clip", 1e-4, 10.0, key=_key("clip_value"), format="%.3g")


def _training_fields() -> None:
    c = st.columns(4)
    c[0].selectbox("Optimizer", ("adam", "rmsprop", "sgd"), key=_key("optimizer"))
    c[1].number_input("Batch size", 1, 8192, key=_key("batch_size"))
    c[2].number_input("G lr", 1e-6, 1.0, key=_key("lr_g"), format="%.1e")
    c[3].number_input("D lr", 1e-6, 1.0, key=_key("lr_d"), format="%.1e")
    c = st.columns(4)
    c[0].number_input("beta1 / momentum", 0.0, 0.999, key=_key("beta1"))
    c[1].number_input("beta2 / RMSprop alpha", 0.0, 0.9999, key=_key("beta2"), format="%.4f")
    c[2].number_input("D steps per G step", 1, 20, key=_key("d_steps"))
    c[3].number_input("Seed", 0, 2**31 - 1, key=_key("seed"))
    c = st.columns(4)
    c[0].number_input("LR decay steps (0 = none)", 0, 10_000_000, key=_key("lr_decay_steps"))
    c[1].number_input("LR final factor", 0.0, 1.0, key=_key("lr_final_factor"))
    c[2].number_input("Stop at step (0 = never)", 0, 100_000_000, key=_key("max_steps"))
    c[3].selectbox("Device", ("auto", "cpu", "cuda"), key=_key("device"))
    c = st.columns(4)
    c[0].number_input("Diagnostics every N steps", 1, 1_000_000, key=_key("metrics_every"))
    c[1].number_input("Good snapshot every N steps", 0, 1_000_000, key=_key("snapshot_every"),
                      help="In-memory states a diverged run can roll back to; 0 = none.")
    c[2].number_input("Autosave every N minutes", 0.0, 1440.0, key=_key("autosave_minutes"),
                      help="Checkpoint to the run's folder while it trains; 0 = off.")
    c[3].number_input("CPU threads (0 = auto)", 0, 256, key=_key("cpu_threads"))
    c = st.columns(4)
    c[0].number_input("Averaged G decay (0 = off)", 0.0, 0.9999, key=_key("g_ema"), format="%.4f",
                      help="Samples, pictures and evaluations from an exponential moving average of G's weights "
                           "(e.g. 0.999): steadier than the training G. 0 = the training G itself.")


def _config_json() -> None:
    """Download the dialog's settings as JSON, or load a JSON file into it (validated; errors name the field)."""
    try:
        text = json.dumps(Config.from_dict(_values()).to_dict(), indent=2)
    except ValueError as exc:
        text = None
        st.caption(f"Fix the settings to download them: {plain(exc)}")
    if text is not None:
        st.download_button("Download config.json", text, file_name="config.json", mime="application/json",
                           key="btn_config_download", icon=":material/download:")
    st.file_uploader("Load a config.json (a saved run's works too)", type=["json"], key="config_upload")
    if st.session_state.get("config_upload") is not None:
        st.button("Load it into the fields", key="btn_config_apply", on_click=_load_json)


def _load_json() -> None:
    upload = st.session_state.get("config_upload")
    if upload is None:
        return
    try:
        config = Config.from_json(upload.getvalue()[: 1 << 20])
    except ValueError as exc:
        st.session_state["_setup_error"] = f"{upload.name}: {exc}"
        return
    _fill(config)
    draw.load(config.data.points, force=True, edited=bool(config.data.points))
    st.session_state["setup_preset"] = CUSTOM
    st.session_state.pop("_setup_error", None)
    st.session_state["_setup_loaded"] = f"Loaded {upload.name}: check the tabs, then press Start new run."
