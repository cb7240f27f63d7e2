#!/usr/bin/env bash
# The GPU figures of README "Scale and speed" and benchmarks/RESULTS.md, in one go, on a machine
# with a CUDA GPU where cnnlab is importable (installed, or PYTHONPATH=src):
#
#   benchmarks/gpu_check.sh LOG_DIR
#
# LOG_DIR receives: gpu.txt (card, driver, versions), cuda_tests.log (the tests that skip without
# CUDA), train.log (every run's output), runs.md (each run's command, wall time from process start,
# seconds per epoch, exit code and test metrics), overhead.md and overhead.log (the output of
# benchmarks/overhead.py --device cuda). Run directories go to a temporary folder; set RUNS_DIR to
# keep them. PYTHON picks the interpreter (default: python). A run over 5 minutes is stopped
# (exit 124). Expect 10-15 minutes on one H100 (about 20 s of each run is Python start-up).
set -uo pipefail
logs=$(realpath -m "${1:?usage: benchmarks/gpu_check.sh LOG_DIR}")
runs=$(realpath -m "${RUNS_DIR:-$(mktemp -d)}")
cd "$(dirname "$0")/.."
mkdir -p "$logs" "$runs"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
py=${PYTHON:-python}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    "$py" -c "import torch, pytorch_lightning as pl, platform; print('torch', torch.__version__, \
'cuda', torch.version.cuda, 'lightning', pl.__version__, 'python', platform.python_version(), \
'|', torch.cuda.get_device_name(0))"
} >"$logs/gpu.txt" 2>&1
cat "$logs/gpu.txt"

"$py" -m pytest -q -p no:cacheprovider -rs tests/data/test_device_batches.py 2>&1 |
    tee "$logs/cuda_tests.log" | tail -3

# first, so that its timings come from a machine nothing else is using
"$py" benchmarks/overhead.py --device cuda --epochs 2 --reps 3 --write "$logs/overhead.md" \
    >"$logs/overhead.log" 2>&1
cat "$logs/overhead.md"

# run NAME MODULE ARGS...: `python -m cnnlab.cli.MODULE ARGS` writing into $runs/NAME, timed from
# process start
run() {
    local name=$1 module=$2 start rc
    shift 2
    echo "=== $name: cnnlab-$module $*" | tee -a "$logs/train.log"
    start=$(date +%s%N)
    CNNLAB_LOG_DIR="$runs/$name" timeout 300 \
        "$py" -m "cnnlab.cli.$module" "$@" >>"$logs/train.log" 2>&1
    rc=$?
    printf '%s\t%s\t%s\t%s\n' "$name" "$((($(date +%s%N) - start) / 1000000))" "$rc" "$*" \
        >>"$runs/index.tsv"
    echo "    exit $rc" | tee -a "$logs/train.log"
}
train() {
    run "$1" train "${@:2}" callbacks.progress_bar.refresh_rate=0
}
best() {
    find "$runs/$1" -name best.ckpt | head -1
}

: >"$runs/index.tsv"
train digits_cpu
train digits_gpu trainer=gpu
train digits_gpu_16mixed trainer=gpu trainer.precision=16-mixed
train digits_gpu_bf16mixed trainer=gpu trainer.precision=bf16-mixed
train digits_ddp1 trainer=ddp trainer.devices=1
train digits_ddp_sweep -m trainer=ddp task.optimizer.lr=0.01,0.003
train canvas_unet_cpu experiment=canvas_unet
train canvas_unet_gpu experiment=canvas_unet trainer=gpu
train canvas_unet_gpu_bf16mixed experiment=canvas_unet trainer=gpu trainer.precision=bf16-mixed
train canvas_unet_gpu_bf16mixed_channels_last experiment=canvas_unet trainer=gpu \
    trainer.precision=bf16-mixed callbacks.model_speedups.channels_last=true
train digits_ae_gpu experiment=digits_ae trainer=gpu
train digits_ae_gpu_bf16mixed experiment=digits_ae trainer=gpu trainer.precision=bf16-mixed
# checkpoints trained on the GPU, evaluated and sampled on it
run eval_digits_ae_gpu eval ckpt_path="$(best digits_ae_gpu)" accelerator=gpu
run generate_digits_ae_gpu generate ckpt_path="$(best digits_ae_gpu)" device=cuda \
    out="$runs/samples.png"
run generate_digits_ae_gpu_interpolate generate ckpt_path="$(best digits_ae_gpu)" device=cuda \
    interpolate=true n=40 out="$runs/interpolation.png"
# last: torch.compile of the U-Net did not finish within about 2 minutes on an H100
train canvas_unet_gpu_compile experiment=canvas_unet trainer=gpu \
    callbacks.model_speedups.compile=true

"$py" - "$runs" >"$logs/runs.md" <<'EOF'
"""One row per run (per job of a -m sweep): index.tsv, metrics.json and the TensorBoard events."""
import json
import statistics
import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

runs = Path(sys.argv[1])
keys = ("test/acc", "test/iou", "test/mse", "test/loss")


def seconds_per_epoch(run_dir: Path) -> str:
    """Median gap between the val/loss events of successive epochs (process start excluded).

    The validation after fit logs val/loss again at the last step: only a step's first counts.
    """
    events = sorted({p.parent for p in run_dir.rglob("events.out.tfevents.*")})
    if not events:
        return ""
    first = {}
    for scalar in EventAccumulator(str(events[0])).Reload().Scalars("val/loss"):
        first.setdefault(scalar.step, scalar.wall_time)
    times = sorted(first.values())
    gaps = [b - a for a, b in zip(times, times[1:])]
    return f"{statistics.median(gaps):.2f}" if gaps else ""


print("| run | overrides | wall s | s/epoch | exit | " + " | ".join(keys) + " |")
print("|---|---|---|---|---|" + "---|" * len(keys))
for line in (runs / "index.tsv").read_text().splitlines():
    name, ms, rc, overrides = line.split("\t")
    found = sorted((runs / name).rglob("metrics.json")) or [None]
    for path in found:
        metrics = json.loads(path.read_text()) if path else {}
        values = " | ".join(f"{metrics[k]:.4f}" if k in metrics else "" for k in keys)
        epoch = seconds_per_epoch(path.parent) if path else ""
        label = f"{name}/{path.parent.name}" if len(found) > 1 else name
        print(f"| {label} | `{overrides}` | {int(ms) / 1000:.1f} | {epoch} | {rc} | {values} |")
EOF
cat "$logs/runs.md"

