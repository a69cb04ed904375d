"""Command line: ``python -m gan_core presets | train | evaluate | bench``.

    python -m gan_core presets
    python -m gan_core train --preset ring8 --steps 3000 --seed 0 --set lr_g=1e-3 --out runs/ring8
    python -m gan_core evaluate --run runs/ring8 --samples 2500
    python -m gan_core bench --device cpu --batch-sizes 64,128 --iters 20 --data-dir ../shared/data/mnist

``train`` prints progress to stderr and one final JSON line to stdout (the last step's metrics,
steps_per_s, samples_per_s and, for 2D mixtures, modes_covered and hq_fraction). Any bad argument exits
non-zero with a one-line ``error: ...`` message, never a traceback.

Saving (``--out``) never costs the result: a failed autosave (a full disk, say) is reported on stderr as
``warning: ...`` when it happens, even with --quiet, and training goes on; a failed final save still prints
the JSON line (with ``save_error`` and ``saved_step``, the step of the newest checkpoint that did get
written) and then exits 1 with one ``error: ...`` line.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from .presets import PRESETS, preset_config


COMPILE_AUTO_STEPS = 500  # --compile auto: a run this long on CUDA earns back the compiler's first-step wait


class CliError(Exception):
    """Printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print the usage block too: keep it to one line
        raise CliError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m gan_core", description="GAN Playground: train and inspect GANs headless.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sub.add_parser("presets", help="list the presets")
    t = sub.add_parser("train", help="train a preset headless and print a final JSON line")
    t.add_argument("--preset", default=None, help="see `python -m gan_core presets` (or give --config/--resume)")
    t.add_argument("--config", default=None, metavar="FILE",
                   help="a JSON config (the app's Download config.json, or a run's config.json)")
    t.add_argument("--resume", default=None, metavar="DIR", help="continue a saved run (checkpoint folder)")
    t.add_argument("--steps", type=int, required=True, help="iterations to train (>= 1)")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    t.add_argument("--data-dir", default=None, help="folder holding mnist/ and fashion_mnist/")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set lr_g=2e-4 (repeatable)")
    t.add_argument("--out", default=None, help="write checkpoint + config.json + metrics.csv here, and live/ while it "
                   "trains (the app watches it: ?watch=NAME for a folder under the runs directory)")
    t.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                   help="compile G and D with torch.compile: on, off, or auto (on for CUDA runs of >= "
                        f"{COMPILE_AUTO_STEPS} steps; on the CPU it measured slower, see docs/BENCHMARKS.md)")
    t.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    e = sub.add_parser("evaluate", help="sample-quality metrics of a saved run, as one JSON line")
    e.add_argument("--run", required=True, help="a checkpoint folder written by train --out (or the app's Save)")
    e.add_argument("--samples", type=int, default=None, help="generated samples (default 2500 toy, 2000 images)")
    e.add_argument("--stacked-samples", type=int, default=None,
                   help="Stacked MNIST: samples for the 1,000-mode count (default 26000, the published protocol)")
    e.add_argument("--data-dir", default=None, help="where the real data lives, if not where it was trained")
    e.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    b = sub.add_parser("bench", help="images/s of the 64x64 DCGAN: reference loop vs playground (gan_core.bench)")
    b.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    b.add_argument("--batch-sizes", default="64,128,512", help="comma-separated, e.g. 64,128,512")
    b.add_argument("--iters", default=None, help="timed iterations: one number or one per batch size "
                                                 "(default 10 on CPU, 200 on CUDA)")
    b.add_argument("--warmup", type=int, default=3, help="untimed iterations before each measurement")
    b.add_argument("--threads", type=int, default=0, help="torch CPU threads for every loop (0 = torch default)")
    b.add_argument("--repeats", type=int, default=1, help="the loops take turns this often; each reports its best")
    b.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files (else random images)")
    b.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                   help="also measure the compiled step (auto: on CUDA only)")
    b.add_argument("--quiet", action="store_true", help="no progress lines or table on stderr")
    return p


def cmd_presets(_args) -> int:
    width = max(map(len, PRESETS))
    for name, (about, _) in PRESETS.items():
        print(f"{name:<{width}}  {about}")
    return 0


def _progress(quiet: bool):
    def report(message: str, fraction: float) -> None:
        if not quiet:
            print(f"{message} {100 * fraction:5.1f}%", file=sys.stderr, flush=True)
    return report


def _json_safe(value):
    """Strict JSON: NaN/Inf (a diverged run) become null, at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _config_from_file(path: str):
    from .config import Config
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError as exc:
        raise CliError(f"--config {path}: {exc.strerror or exc}") from None
    try:
        return Config.from_json(data)
    except ValueError as exc:
        raise CliError(f"--config {path}: {exc}") from None


def _resumed(args, overrides: dict):
    from .checkpoint import CheckpointError
    from .run import Run
    try:
        run = Run.from_checkpoint(args.resume, device=overrides.pop("device", None),
                                  progress=_progress(args.quiet))
    except (CheckpointError, OSError) as exc:
        raise CliError(str(exc)) from None
    if overrides:
        raise CliError("--seed and --data-dir cannot change when resuming a run")
    if args.overrides:
        from .config import parse_overrides
        run.set(**parse_overrides(args.overrides))
    return run


def _tick(live, final: bool = False) -> None:
    """Write the live files; a full disk is reported and training goes on (the checkpoint says the rest)."""
    try:
        live.close() if final else live.tick()
    except OSError as exc:
        print(f"warning: live files in {live.dir} not written: {exc}", file=sys.stderr, flush=True)


def _obey(live, run):
    """The app's newest command for this run (``DIR/live/control.json``, gan_core.live_control), carried out."""
    action = live.control.poll() if live.controllable else None
    if action == "pause" and run.state == "running":
        run.pause()
        live.held = True
        try:
            run.call_in_loop(lambda tr: None, timeout=10.0)  # the step in flight is done: the status is final
        except (TimeoutError, RuntimeError):
            pass
    elif action == "resume" and live.held:
        live.held = False
        if run.state == "paused":
            run.start()
    elif action == "set":
        try:
            run.set(**live.control.values)
            live.control_error = None
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:  # a bad value: named, and training goes on
            live.control_error = str(exc)
    if action is not None:
        what = f"set {live.control.values}" if action == "set" else action
        note = f": refused, {live.control_error}" if action == "set" and live.control_error else ""
        print(f"step {run.step}: {what} (asked through {live.control.path}){note}", file=sys.stderr, flush=True)
        try:
            live.tick(force=True)  # the app sees it obeyed at once
        except OSError:
            pass  # a full disk: the loop's next write reports it
    return action


class Terminated(Exception):
    """torchrun asked this process to stop (SIGTERM): another process of the run failed."""


def _terminated() -> None:
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the save that follows must not be interrupted
    raise Terminated()


def _join_torchrun(args, cfg):
    """Under torchrun with more than one process: join the process group (gan_core.distributed)."""
    import os
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    from . import distributed
    device = args.device or (cfg.train.device if cfg is not None else None)
    if device is None:  # the checkpoint's own device, from its header (the tensors are read once, by _resumed)
        from .checkpoint import CheckpointError, read_meta
        try:
            device = json.loads(read_meta(args.resume)["config"])["train"]["device"]
        except (CheckpointError, OSError, KeyError, ValueError) as exc:
            raise CliError(f"--resume {args.resume}: {exc}") from None
    try:
        return distributed.from_env(device)
    except (RuntimeError, ValueError) as exc:
        raise CliError(f"torchrun: cannot join the other processes: {exc}") from None


def _rescued(run, out) -> str:
    """Save a data-parallel run that lost a process (its weights are those of the last finished step)."""
    if not out or (run._thread is not None and run._thread.is_alive()) or not run.step:
        return ""
    try:
        run.save(out)
    except (OSError, ValueError, RuntimeError) as exc:
        return f" (saving to {out} failed too: {exc})"
    return f"; saved step {run.step:,} to {out} (--resume {out} continues it)"


def cmd_train(args) -> int:
    from . import trainer_process
    from .run import Run

    if args.steps < 1:
        raise CliError(f"--steps = {args.steps} must be >= 1")
    overrides = {k: v for k, v in (("seed", args.seed), ("device", args.device), ("data_dir", args.data_dir))
                 if v is not None}
    if sum(x is not None for x in (args.preset, args.config, args.resume)) != 1:
        raise CliError("give exactly one of --preset NAME, --config FILE or --resume DIR")
    cfg = None
    if not args.resume:
        cfg = _config_from_file(args.config) if args.config else preset_config(args.preset)
        cfg = cfg.replace(**overrides).with_overrides(args.overrides)
    ctx = _join_torchrun(args, cfg)
    if ctx is not None and not ctx.is_main:  # rank 0 alone reports and writes the run folder
        args.quiet, args.out = True, None
    if args.resume:
        run = _resumed(args, overrides)
        cfg = run.config
        if ctx is not None:
            ctx.reseed(run.trainer)  # the checkpoint restored rank 0's random stream in every process
    else:
        run = Run(cfg, progress=_progress(args.quiet), preset=args.preset)
    run.autosave_dir = args.out  # long runs autosave there every train.autosave_minutes
    start_step = run.step
    run.set(max_steps=start_step + args.steps)
    live = None
    if args.out:  # the folder the app can watch while this trains (gan_core.live_folder)
        from .live_folder import LiveWriter
        try:
            live = LiveWriter(args.out, run)
        except OSError as exc:
            raise CliError(f"--out {args.out}: cannot write there: {exc}") from None
        live.controllable = ctx is None  # under torchrun a pause of rank 0 alone would stall the other ranks
    if args.compile == "on" or (args.compile == "auto" and ctx is None and args.steps >= COMPILE_AUTO_STEPS
                                and run.trainer.device.type == "cuda"):
        run.trainer.compile()
    t0 = time.perf_counter()
    if ctx is not None:  # torchrun stops the others when one process fails: end cleanly, saving what we have
        from .distributed import on_terminate
        on_terminate(_terminated)
    run.start()
    last_print = last_parent_check = t0
    seen, autosave_error, terminated, asked_stop = "", None, False, False
    try:
        while run.state == "running" or (live is not None and live.held and run.state == "paused"):
            time.sleep(0.05)
            if live is not None and _obey(live, run) == "stop":
                asked_stop = True
                break
            if time.perf_counter() - last_parent_check > 1.0:
                last_parent_check = time.perf_counter()
                if trainer_process.orphaned():  # the app that started this trainer died: save and stop
                    print(f"step {run.step}: the app that started this trainer is gone; saving and stopping",
                          file=sys.stderr, flush=True)
                    asked_stop = True
                    break
            with run._lock:
                state, message = run.state, run.message
            if state == "running" and message and message != seen:  # the run goes on: a note (failed autosave)
                print(f"warning: step {run.step}: {message}", file=sys.stderr, flush=True)
                autosave_error = message if message.startswith("Autosave") else autosave_error
            seen = message
            if live is not None:
                _tick(live)
            if not args.quiet and run.state == "running" and time.perf_counter() - last_print > 2.0:
                last = run.latest()
                print(f"step {run.step}/{start_step + args.steps}  d_loss {last['d_loss']:.3f}  "
                      f"g_loss {last['g_loss']:.3f}  {last['steps_per_s']:.0f} it/s", file=sys.stderr, flush=True)
                last_print = time.perf_counter()
    except Terminated:
        terminated = True
    finally:
        if ctx is not None:  # ending anyway: torchrun's SIGTERM must not cut the final save (or this report) short
            import signal
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        run.stop(timeout=10.0 if terminated else None)  # a step stuck on a dead peer must not hold us
        if live is not None:
            live.held = False
            _tick(live, final=True)
    seconds = time.perf_counter() - t0
    if terminated or run.state == "error":
        why = run.message if run.state == "error" else "stopped by torchrun: another process of this run failed"
        raise CliError(why + _rescued(run, args.out if ctx is not None else None))
    if ctx is not None and not ctx.is_main:
        return 0 if run.state == "finished" else 1
    snap = run.snapshot(visual=False)
    result = {"preset": args.preset or args.config or args.resume, "steps": run.step - start_step, "seconds": round(seconds, 3),
              "device": snap["device"], "state": snap["state"]}
    result.update({k: v for k, v in snap["latest"].items() if k not in ("time",)})
    result["step"] = run.step
    if ctx is not None:
        result["processes"] = ctx.world
    result["compiled"] = run.trainer.compiled is not None
    if run.trainer.compile_note:
        result["compile_note"] = run.trainer.compile_note
    result["steps_per_s"] = (run.step - start_step) / snap["elapsed"] if snap["elapsed"] > 0 else None
    result["samples_per_s"] = result["steps_per_s"] and result["steps_per_s"] * cfg.train.batch_size
    if run.diagnostics.measures:
        run._evaluate()  # a final evaluation at the last step: modes (2D mixtures) or classes (digits), JS (points)
        result.update({name: float(v) for name, v in zip(run.evals.names[1:], run.evals.last[1:])})
        for name in ("modes_covered", "classes_covered"):
            if name in result:
                result[name] = int(result[name])
    if snap["message"] and snap["state"] != "finished":
        result["message"] = snap["message"]
    if autosave_error:
        result["autosave_error"] = autosave_error
    save_error = None
    if args.out:
        try:
            result["checkpoint"] = str(run.save(args.out))
        except (OSError, ValueError, RuntimeError) as exc:  # a full disk, a refused folder: keep the result
            save_error = f"final save to {args.out} failed: {exc}"
            result["save_error"], result["saved_step"] = save_error, run.saved_step
    print(json.dumps(_json_safe(result), allow_nan=False), flush=True)
    if save_error:
        stale = (f"the checkpoint there is from step {run.saved_step}" if run.saved_step is not None
                 else "no checkpoint of this run was written")
        print(f"error: {save_error}; {stale} (this run trained to step {run.step})", file=sys.stderr, flush=True)
        return 1
    return 0 if snap["state"] == "finished" or asked_stop else 1


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate_checkpoint

    if args.samples is not None and not 10 <= args.samples <= 100_000:
        raise CliError(f"--samples = {args.samples} is out of range [10, 100000]")
    if args.stacked_samples is not None and not 100 <= args.stacked_samples <= 1_000_000:
        raise CliError(f"--stacked-samples = {args.stacked_samples} is out of range [100, 1000000]")
    result = evaluate_checkpoint(args.run, args.samples, args.data_dir, _progress(args.quiet),
                                 stacked_samples=args.stacked_samples)
    print(json.dumps(_json_safe(result), allow_nan=False))
    return 0


def cmd_bench(args) -> int:
    from .bench import format_table, parse_int_list, run_bench

    try:
        sizes = parse_int_list(args.batch_sizes, "--batch-sizes")
        iters = parse_int_list(args.iters, "--iters", hi=1_000_000) if args.iters is not None else None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if iters is not None and len(iters) not in (1, len(sizes)):
        raise CliError(f"--iters = {args.iters!r} must give one number or one per batch size ({len(sizes)})")
    for name, value, lo, hi in (("--warmup", args.warmup, 0, 1000), ("--threads", args.threads, 0, 256),
                                ("--repeats", args.repeats, 1, 100)):
        if not lo <= value <= hi:
            raise CliError(f"{name} = {value} is out of range [{lo}, {hi}]")
    say = None if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    result = run_bench(sizes, iters, args.device, data_dir=args.data_dir, warmup=args.warmup,
                       threads=args.threads, repeats=args.repeats, progress=say,
                       compiled={"auto": None, "on": True, "off": False}[args.compile])
    if not args.quiet:
        print(format_table(result), file=sys.stderr, flush=True)
    print(json.dumps(_json_safe(result), allow_nan=False))
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise CliError("choose a command: presets, train, evaluate or bench (see --help)")
        commands = {"presets": cmd_presets, "train": cmd_train, "evaluate": cmd_evaluate, "bench": cmd_bench}
        return commands[args.command](args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError) as exc:  # config, data and checkpoint errors are user-fixable
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
