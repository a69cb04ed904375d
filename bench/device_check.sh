#!/usr/bin/env bash
# One call on a machine with a CUDA GPU (a session lent one runs: bash bench/device_check.sh):
#   1. the GPU tests (tests/test_gpu.py, the classifier's CUDA test),
#   2. the 64x64 DCGAN bench: pytorch/examples' reference loop, the playground eager, the playground compiled
#      (torch.compile, CUDA graphs), batch 64 / 128 / 512,
#   3. eager vs compiled on ring8 (first-step wait, steps/s, loss agreement),
# in under 5 minutes, then one table with the issue's targets (H100: >= 25k / 40k / 60k images/s).
# MNIST comes from $GAN_PLAYGROUND_DATA or ../shared/data/mnist when present (else random images: speed does
# not depend on the pixels). Exit status: 0 all ran, 1 a step failed, 2 no CUDA device or no torch.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -f .venv/bin/activate ] && . .venv/bin/activate
PY=${PYTHON:-python3}
OUT=${OUT:-$(mktemp -d)}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DATA=${GAN_PLAYGROUND_DATA:-../shared/data/mnist}
# a dry run of this script on a CPU (tests/test_device_check.py): DEVICE_CHECK_DEVICE=cpu and small sizes
DEVICE=${DEVICE_CHECK_DEVICE:-cuda}
SIZES=${DEVICE_CHECK_SIZES:-64,128,512}
ITERS=${DEVICE_CHECK_ITERS:-300,200,100}
COMPILE=${DEVICE_CHECK_COMPILE:-on}
RING8_STEPS=${DEVICE_CHECK_RING8_STEPS:-2000}
RUN_TESTS=${DEVICE_CHECK_TESTS:-1}
WARMUP=${DEVICE_CHECK_WARMUP:-10}

if [ "$DEVICE" = cuda ] && ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)" 2>"$OUT/torch.err"; then
  echo "device_check: no CUDA device visible to $PY (or no torch: $(tail -1 "$OUT/torch.err"))" >&2
  exit 2
fi
$PY -c "import torch; print('device:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU only', '| torch', torch.__version__, '| CUDA', torch.version.cuda)"
status=0

echo "== 1/3 GPU tests" >&2
if [ "$RUN_TESTS" = 1 ]; then
  timeout 150 $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_classifier.py tests/test_compiled.py \
    -k "cuda or gpu or compiled" >"$OUT/tests.txt" 2>&1 || status=1
  tail -3 "$OUT/tests.txt" >&2
else
  echo "skipped (DEVICE_CHECK_TESTS=0)" >"$OUT/tests.txt"
fi

echo "== 2/3 DCGAN bench (reference, eager, compiled)" >&2
data_arg=(); [ -d "$DATA" ] && data_arg=(--data-dir "$DATA")
timeout 200 $PY -m gan_core bench --device "$DEVICE" --batch-sizes "$SIZES" --iters "$ITERS" --warmup "$WARMUP" \
  --compile "$COMPILE" "${data_arg[@]}" >"$OUT/bench.json" 2>"$OUT/bench.err" || { status=1; tail -5 "$OUT/bench.err" >&2; }

echo "== 3/3 eager vs compiled, ring8" >&2
if [ "$RING8_STEPS" -gt 0 ]; then
  timeout 120 $PY bench/compile_vs_eager.py --steps "$RING8_STEPS" >"$OUT/compile.md" 2>"$OUT/compile.err" \
    || { status=1; tail -5 "$OUT/compile.err" >&2; }
else
  echo "eager vs compiled: skipped (DEVICE_CHECK_RING8_STEPS=0)" >"$OUT/compile.md"
fi

$PY - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
targets = {64: 25_000, 128: 40_000, 512: 60_000}
tests = (out / "tests.txt").read_text().strip().splitlines()
print("\n| check | result |\n|---|---|")
print(f"| GPU tests | {tests[-1] if tests else 'did not run'} |")
try:
    bench = json.loads((out / "bench.json").read_text().strip().splitlines()[-1])
except (OSError, ValueError, IndexError):
    bench = None
if bench:
    print(f"| bench device | {bench['device_name']}, torch {bench['torch']}, data: {bench['data']} |")
    print("\n| batch | reference img/s | eager img/s | compiled img/s | target (H100) | best vs target |")
    print("|---|---|---|---|---|---|")
    for r in bench["rows"]:
        best = max(v for v in (r["reference"], r["eager"], r["fast"] or 0))
        t = targets.get(r["batch_size"])
        fast = f"{r['fast']:,.0f}" if r["fast"] else r["fast_note"]
        versus = f"{t:,} | {best / t:.0%}" if t else "— | —"
        print(f"| {r['batch_size']} | {r['reference']:,.0f} | {r['eager']:,.0f} | {fast} | {versus} |")
else:
    print("| DCGAN bench | failed: see bench.err |")
compile_md = (out / "compile.md").read_text() if (out / "compile.md").exists() else ""
print("\n" + (compile_md.strip() or "eager vs compiled: failed, see compile.err"))
PY
echo "(raw outputs in $OUT)" >&2
exit $status
