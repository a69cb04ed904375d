"""The setup panel: pick a preset, edit every setting (data, model, loss, training), load or download the
configuration as JSON, or resume a saved run. Rebuilding starts from fresh weights; data loading (and an
MNIST download) shows a progress bar; any bad value or missing file is shown as an error naming the field
and the current run stays as it was. Hidden from viewers in lecture mode.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from gan_core.config import (ACTIVATIONS, DATASETS, DCGAN_SIZES, LOSS_NAMES, Config)
from gan_core.checkpoint import CheckpointError, list_checkpoints
from gan_core.data.limits import UploadLimits
from gan_core.presets import PRESETS, preset_config
from gan_core.run_loop import is_out_of_memory
from ui.lecture import can_control, refuse
from ui.runs import get_registry, resume_saved, runs_dir

UPLOAD_DIR = Path("data") / "uploads"


def _rebuild(run, config: Config) -> None:
    if refuse():
        return
    bar = st.progress(0.0, text="Loading data…")
    try:
        run.reset(config, progress=lambda msg, frac: bar.progress(min(max(frac, 0.0), 1.0), text=msg))
        st.session_state.pop("_setup_error", None)
    except (ValueError, OSError, RuntimeError) as exc:
        st.session_state["_setup_error"] = str(exc)
        if is_out_of_memory(exc):
            st.session_state["_setup_error"] = (f"Out of memory building this run ({exc}). Try a smaller batch "
                                                "size or model, or fewer images; the current run is unchanged.")
    finally:
        bar.empty()


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


def setup_panel(run) -> None:
    if not can_control():
        return
    cfg = run.config
    with st.expander("Setup: preset, data, model, loss (applies with fresh weights)", icon=":material/tune:",
                     expanded=bool(st.session_state.get("_setup_error"))):
        c1, c2 = st.columns([1, 2])
        name = c1.selectbox("Preset", list(PRESETS), key="preset_pick", index=list(PRESETS).index("ring8"))
        c2.caption(PRESETS[name][0])
        if c1.button("Load preset", key="btn_preset"):
            _rebuild(run, preset_config(name))
            st.rerun()
        st.divider()
        _settings_form(run, cfg)
        st.divider()
        c1, c2 = st.columns(2)
        with c1:
            _config_json(run, cfg)
        with c2:
            _saved_runs(run)
        if st.session_state.get("_setup_error"):
            st.error(st.session_state["_setup_error"])


def _config_json(run, cfg: Config) -> None:
    """Download the settings as JSON, or load a JSON file (validated; errors name the field)."""
    import json
    st.markdown("**Configuration as JSON**")
    st.download_button("Download config.json", json.dumps(cfg.to_dict(), indent=2), file_name="config.json",
                       mime="application/json", key="btn_config_download", icon=":material/download:")
    upload = st.file_uploader("Load a config.json (a saved run's works too)", type=["json"], key="config_upload")
    if upload is not None and st.button("Apply loaded config", key="btn_config_apply"):
        try:
            new = Config.from_json(upload.getvalue()[: 1 << 20])
        except ValueError as exc:
            st.session_state["_setup_error"] = f"{upload.name}: {exc}"
        else:
            _rebuild(run, new)
        st.rerun()


def _saved_runs(run) -> None:
    """Resume a checkpoint from the runs folder (autosaves survive an app restart)."""
    st.markdown(f"**Saved runs** in `{runs_dir()}/`")
    found = [e for e in list_checkpoints(runs_dir()) if "error" not in e]
    if not found:
        st.caption("None yet: runs autosave while they train, or press Save.")
        return
    labels = {str(e["path"]): f"{e['run_id']} · step {e['step']:,} · {e['dataset']} · {e['loss']}" for e in found}
    pick = st.selectbox("Saved run", list(labels), format_func=labels.get, key="saved_run_pick")
    if st.button("Resume this run", key="btn_resume_saved", icon=":material/restore:"):
        if refuse():
            st.rerun()
        try:
            resumed = resume_saved(pick, get_registry())
        except (CheckpointError, OSError, ValueError, RuntimeError) as exc:
            st.session_state["_setup_error"] = str(exc)
        else:
            st.query_params["run"] = resumed.id
        st.rerun()


def _settings_form(run, cfg: Config) -> None:
    d, m, lo, t = cfg.data, cfg.model, cfg.loss, cfg.train
    tag = f"{run.id}-{id(run.trainer)}"  # fresh widgets after each rebuild, so they show the new values
    with st.form(f"setup_{tag}"):
        tabs = st.tabs(["Data", "Model", "Loss", "Training"])
        v: dict = {}
        with tabs[0]:
            c = st.columns(3)
            v["dataset"] = c[0].selectbox("Dataset", DATASETS, index=DATASETS.index(d.dataset))
            v["image_size"] = c[1].number_input("Image size (0 = native)", 0, 128, d.image_size,
                                                help=f"DCGAN needs one of {list(DCGAN_SIZES)}.")
            v["channels"] = c[2].selectbox("Channels (0 = native)", (0, 1, 3), index=(0, 1, 3).index(d.channels))
            c = st.columns(3)
            v["data_dir"] = c[0].text_input("Data folder (MNIST files)", d.data_dir,
                                            placeholder="./data or $GAN_PLAYGROUND_DATA")
            v["path"] = c[1].text_input("Image folder or .zip (dataset = folder)", d.path)
            v["max_images"] = c[2].number_input("Max images (0 = all)", 0, 10_000_000, d.max_images)
            upload = st.file_uploader("…or upload a .zip of images (dataset = folder)", type=["zip"])
            v["download"] = st.checkbox("Download MNIST / Fashion-MNIST when missing", d.download)
        with tabs[1]:
            c = st.columns(4)
            v["arch"] = c[0].selectbox("Architecture", ("mlp", "dcgan"), index=("mlp", "dcgan").index(m.arch))
            v["z_dim"] = c[1].number_input("Latent size z", 1, 512, m.z_dim)
            v["conditional"] = c[2].checkbox("Class-conditional", m.conditional)
            v["embed_dim"] = c[3].number_input("Label embedding", 1, 512, m.embed_dim)
            c = st.columns(4)
            v["g_hidden"] = c[0].number_input("MLP G width", 4, 4096, m.g_hidden)
            v["d_hidden"] = c[1].number_input("MLP D width", 4, 4096, m.d_hidden)
            v["depth"] = c[2].number_input("MLP depth", 1, 8, m.depth)
            v["activation"] = c[3].selectbox("MLP activation", ACTIVATIONS, index=ACTIVATIONS.index(m.activation))
            c = st.columns(4)
            v["ngf"] = c[0].number_input("DCGAN G channels", 4, 512, m.ngf)
            v["ndf"] = c[1].number_input("DCGAN D channels", 4, 512, m.ndf)
            v["upsample"] = c[2].selectbox("Upsampling", ("transposed", "resize"),
                                           index=("transposed", "resize").index(m.upsample),
                                           help="resize = nearest upsample + conv: no checkerboard artefacts")
            c3 = c[3]
            v["g_norm"] = c3.selectbox("G norm", ("none", "batch"), index=("none", "batch").index(m.g_norm))
            v["d_norm"] = c3.selectbox("D norm", ("none", "batch", "spectral"),
                                       index=("none", "batch", "spectral").index(m.d_norm))
        with tabs[2]:
            c = st.columns(4)
            v["loss"] = c[0].selectbox("Loss", LOSS_NAMES, index=LOSS_NAMES.index(lo.loss))
            v["r1_gamma"] = c[1].number_input("R1 gamma", 0.0, 1000.0, lo.r1_gamma, format="%.3g")
            v["r1_every"] = c[2].number_input("R1 every k D steps (lazy)", 1, 64, lo.r1_every)
            v["gp_weight"] = c[3].number_input("GP weight (WGAN-GP, DRAGAN)", 0.0, 1000.0, lo.gp_weight)
            c = st.columns(4)
            v["label_smoothing"] = c[0].number_input("Label smoothing", 0.0, 0.5, lo.label_smoothing)
            v["instance_noise"] = c[1].number_input("Instance noise", 0.0, 5.0, lo.instance_noise)
            v["noise_anneal_steps"] = c[2].number_input("Noise anneal steps", 0, 10_000_000, lo.noise_anneal_steps)
            v["clip_value"] = c[3].number_input("WGAN clip", 1e-4, 10.0, lo.clip_value, format="%.3g")
        with tabs[3]:
            c = st.columns(4)
            v["optimizer"] = c[0].selectbox("Optimizer", ("adam", "rmsprop", "sgd"),
                                            index=("adam", "rmsprop", "sgd").index(t.optimizer))
            v["batch_size"] = c[1].number_input("Batch size", 1, 8192, t.batch_size)
            v["lr_g"] = c[2].number_input("G lr", 1e-6, 1.0, t.lr_g, format="%.1e")
            v["lr_d"] = c[3].number_input("D lr", 1e-6, 1.0, t.lr_d, format="%.1e")
            c = st.columns(4)
            v["beta1"] = c[0].number_input("beta1 / momentum", 0.0, 0.999, t.beta1)
            v["beta2"] = c[1].number_input("beta2 / RMSprop alpha", 0.0, 0.9999, t.beta2, format="%.4f")
            v["d_steps"] = c[2].number_input("D steps per G step", 1, 20, t.d_steps)
            v["seed"] = c[3].number_input("Seed", 0, 2**31 - 1, t.seed)
            c = st.columns(4)
            v["lr_decay_steps"] = c[0].number_input("LR decay steps (0 = none)", 0, 10_000_000, t.lr_decay_steps)
            v["lr_final_factor"] = c[1].number_input("LR final factor", 0.0, 1.0, t.lr_final_factor)
            v["max_steps"] = c[2].number_input("Stop at step (0 = never)", 0, 100_000_000, t.max_steps)
            v["device"] = c[3].selectbox("Device", ("auto", "cpu", "cuda"),
                                         index=("auto", "cpu", "cuda").index(t.device))
            c = st.columns(4)
            v["metrics_every"] = c[0].number_input("Diagnostics every N steps", 1, 1_000_000, t.metrics_every)
            v["snapshot_every"] = c[1].number_input("Good snapshot every N steps", 0, 1_000_000, t.snapshot_every,
                                                    help="In-memory states a diverged run can roll back to; 0 = none.")
            v["autosave_minutes"] = c[2].number_input("Autosave every N minutes", 0.0, 1440.0, t.autosave_minutes,
                                                      help="Checkpoint to the run's folder while it trains; 0 = off.")
            v["cpu_threads"] = c[3].number_input("CPU threads (0 = auto)", 0, 256, t.cpu_threads)
        if st.form_submit_button("Apply and reset", type="primary"):
            try:
                if upload is not None:
                    v["path"] = _save_upload(upload)
                    v["dataset"] = "folder"
                new = Config.from_dict(v)
            except ValueError as exc:
                st.session_state["_setup_error"] = str(exc)
            else:
                _rebuild(run, new)
            st.rerun()
