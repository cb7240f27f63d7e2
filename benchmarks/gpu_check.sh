#!/usr/bin/env bash
# The GPU figures of benchmarks/RESULTS.md (issue 15), in one go, on a machine with a CUDA GPU
# where cnnlab is importable (installed, or from this source tree: see below):
#
#   benchmarks/gpu_check.sh LOG_DIR
#
# LOG_DIR receives: gpu.txt (card, driver, versions); overhead_fp32.md/.log (the three tiny
# recipes and ResNet-18 on CIFAR-shaped data, cnnlab against the careful hand-written loop,
# 32-bit); syncs.txt (host-device synchronisations per training step of the U-Net,
# benchmarks/gpu_syncs.py); compile.md/.log (the U-Net with and without torch.compile: wall
# time and seconds per epoch, recompilations); overhead_bf16.md/.log (ResNet-18 with bf16-mixed,
# channels-last and asynchronous checkpoints on both sides where they apply).
# Each step has its own time limit (the steps took 4 minutes on one H100 when overhead.py ran
# two sides; its third, the bare Lightning Trainer, adds about half to the overhead steps); a
# step that fails or runs out leaves the others' files. PYTHON picks the interpreter (default: python).
#
# From a source tree without installing: put hydra-core, omegaconf, antlr4-python3-runtime and
# segmentation-models-pytorch on PYTHONPATH, then `ln -s ../../conf src/cnnlab/conf` and
# `export PYTHONPATH=$PWD/src:$PYTHONPATH` (cnnlab.conf is the conf/ folder in a wheel).
set -uo pipefail
logs=$(realpath -m "${1:?usage: benchmarks/gpu_check.sh LOG_DIR}")
cd "$(dirname "$0")/.."
mkdir -p "$logs"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
py=${PYTHON:-python}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    "$py" -c "import torch, pytorch_lightning as pl, platform; print('torch', torch.__version__, \
'cuda', torch.version.cuda, 'lightning', pl.__version__, 'python', platform.python_version(), \
'|', torch.cuda.get_device_name(0), '|', __import__('os').cpu_count(), 'CPUs')"
} >"$logs/gpu.txt" 2>&1
cat "$logs/gpu.txt"

# first, so that its timings come from a machine nothing else is using
timeout 360 "$py" benchmarks/overhead.py --device cuda --epochs 2 --reps 5 --no-time-to-accuracy \
    --tasks classification segmentation autoencoder resnet18_cifar \
    --write "$logs/overhead_fp32.md" >"$logs/overhead_fp32.log" 2>&1
echo "overhead fp32: exit $?"

timeout 45 "$py" benchmarks/gpu_syncs.py experiment=canvas_unet trainer.max_epochs=1 \
    callbacks.progress_bar.refresh_rate=0 >"$logs/syncs.txt" 2>&1
echo "syncs: exit $?"

# run NAME ARGS...: a timed `cnnlab-train ARGS` whose run directory is $runs/NAME
runs=$(mktemp -d)
run() {
    local name=$1 start rc
    shift
    start=$(date +%s%N)
    CNNLAB_LOG_DIR="$runs/$name" TORCH_LOGS=recompiles timeout 100 \
        "$py" -m cnnlab.cli.train "$@" callbacks.progress_bar.refresh_rate=0 \
        >>"$logs/compile.log" 2>&1
    rc=$?
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$start" "$((($(date +%s%N) - start) / 1000000))" \
        "$rc" "$*" >>"$runs/index.tsv"
}
unet=(experiment=canvas_unet trainer=gpu trainer.max_epochs=4)
run unet_eager "${unet[@]}"
run unet_compiled "${unet[@]}" callbacks.model_speedups.compile=true
"$py" - "$runs" "$logs/compile.log" >"$logs/compile.md" <<'EOF'
"""One row per run: wall time, seconds per epoch and time from process start to the end of
the first epoch (TensorBoard val/loss times), test IoU."""
import json
import statistics
import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

runs, log = Path(sys.argv[1]), Path(sys.argv[2])
print("| run | wall s | s/epoch (epochs 2+) | start to epoch 1 validated, s | exit | test/iou |")
print("|---|---|---|---|---|---|")
for line in (runs / "index.tsv").read_text().splitlines():
    name, start_ns, ms, rc, overrides = line.split("\t")
    events = sorted({p.parent for p in (runs / name).rglob("events.out.tfevents.*")})
    metrics = sorted((runs / name).rglob("metrics.json"))
    iou = json.loads(metrics[0].read_text()).get("test/iou", float("nan")) if metrics else None
    gaps, first = [], None
    if events:
        accumulator = EventAccumulator(str(events[0])).Reload()
        start = int(start_ns) / 1e9
        times = sorted({s.step: s.wall_time for s in accumulator.Scalars("val/loss")}.values())
        gaps = [b - a for a, b in zip(times, times[1:])]
        first = times[0] - start if times else None
    per_epoch = f"{statistics.median(gaps):.2f}" if gaps else ""
    first_s = f"{first:.1f}" if first is not None else ""
    iou_s = f"{iou:.4f}" if iou is not None else ""
    print(f"| {name} | {int(ms) / 1000:.1f} | {per_epoch} | {first_s} | {rc} | {iou_s} |")
print()
print(f"recompilations logged: {log.read_text().count('Recompiling function')}")
EOF
cat "$logs/compile.md"

timeout 150 "$py" benchmarks/overhead.py --device cuda --epochs 2 --reps 5 --no-time-to-accuracy \
    --tasks resnet18_cifar --precision bf16-mixed --channels-last --async-checkpoints \
    --write "$logs/overhead_bf16.md" >"$logs/overhead_bf16.log" 2>&1
echo "overhead bf16: exit $?"
cat "$logs"/overhead_*.md "$logs/syncs.txt"
