"""Every metric a task reports equals an independent recomputation from its predictions.

The data sets are built so that torchmetrics' compute groups would go wrong: the first
validation/test batch is predicted perfectly (after it, unlike metrics have equal states) and the
later batches are not. One class is absent from the targets and never predicted, so the
convention for such a class is pinned down too: macro averages (F1, IoU, Dice) run over the
classes that occur in the targets or the predictions (scikit-learn's default `labels`, and what
torchmetrics does), while a per-class IoU of a class seen nowhere is 0 (`zero_division=0`).

Predictions come from a lookup model that returns a fixed output per input image, trained and
tested through a real Lightning Trainer; the references use scikit-learn and plain torch only.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from segmentation_models_pytorch.losses import SoftCrossEntropyLoss
from sklearn.metrics import accuracy_score, f1_score, jaccard_score, top_k_accuracy_score
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from cnnlab.cli.eval import evaluate
from cnnlab.models.autoencoder import AutoencoderOutput
from cnnlab.pipeline import rebuild_from_checkpoint, train
from cnnlab.tasks.autoencoder import AutoencoderTask
from cnnlab.tasks.base import METRIC_BATCHES, STAGES, BaseTask
from cnnlab.tasks.classification import ClassificationTask
from cnnlab.tasks.finetune import FinetuneTask
from cnnlab.tasks.segmentation import SegmentationTask
from tests.conftest import TINY

BATCH = 8
# twelve batches, the first predicted perfectly, the others not; more than METRIC_BATCHES, so
# the metrics are updated in two groups of batches within each stage
SAMPLES = 96
BOUNDED = ("acc", "acc_top5", "f1", "iou", "dice", "pixel_acc", "ssim")
SGD = functools.partial(torch.optim.SGD, lr=0.1)
assert SAMPLES // BATCH > METRIC_BATCHES


class Lookup(nn.Module):
    """Returns the stored output of whichever known input an image is (nearest match).

    Its one parameter enters the output multiplied by 0, so training steps run (there is a
    gradient to take) without changing a single prediction.
    """

    def __init__(self, inputs: Tensor, outputs: Tensor, autoencoder: bool = False) -> None:
        super().__init__()
        self.register_buffer("inputs", inputs.flatten(1))
        self.register_buffer("outputs", outputs)
        self.scale = nn.Parameter(torch.ones(()))
        self.autoencoder = autoencoder

    def forward(self, images: Tensor) -> Tensor | AutoencoderOutput:
        index = torch.cdist(images.flatten(1), self.inputs).argmin(dim=1)
        out = self.outputs[index] + 0 * self.scale
        if self.autoencoder:
            return AutoencoderOutput(reconstruction=out, latent=out.flatten(1)[:, :2])
        return out


def run_stages(task: BaseTask, images: Tensor, targets: Tensor) -> dict[str, float]:
    """Fit one epoch, then validate and test, all on the same unshuffled batches; the metrics
    of the training epoch and those validation and test report."""
    loader = DataLoader(TensorDataset(images, targets), batch_size=BATCH)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(task, train_dataloaders=loader, val_dataloaders=loader)
    logged = trainer.callback_metrics  # train/loss is logged per step too: take the epoch's
    metrics = {n: float(v) for n, v in logged.items() if n.startswith("train/") and "loss" not in n}
    metrics["train/loss"] = float(logged["train/loss_epoch"])
    metrics.update(trainer.validate(task, loader, verbose=False)[0])
    metrics.update(trainer.test(task, loader, verbose=False)[0])
    return metrics


def every_stage(expected: dict[str, float]) -> dict[str, float]:
    """`expected` under the names each stage reports it: train/<name>, val/<name>, test/<name>."""
    return {f"{stage}/{name}": v for stage in STAGES for name, v in expected.items()}


def assert_matches(reported: dict[str, float], wanted: dict[str, float]) -> None:
    """The same metric names, the same values to 1e-6 (relative or absolute), and bounded
    metrics within [0, 1]."""
    assert set(reported) == set(wanted), "a reported metric has no independent recomputation"
    for name, value in reported.items():
        # float32 sums in another order (metrics update every few batches) differ by ~1e-7
        assert value == pytest.approx(wanted[name], rel=1e-6, abs=1e-6), name
        metric = name.split("/")[1]
        if metric in BOUNDED or metric.startswith("iou_"):
            assert 0.0 <= value <= 1.0, f"{name}={value} is outside [0, 1]"


def class_logits(labels: Tensor, predicted: Tensor, num_classes: int) -> Tensor:
    """Random logits whose argmax is `predicted` (so top-k ranks beyond the first vary)."""
    logits = torch.randn(len(labels), num_classes)
    logits[torch.arange(len(labels)), predicted] = logits.max(dim=1).values + 1.0
    return logits


@pytest.mark.parametrize("task_class", [ClassificationTask, FinetuneTask])
def test_classification_metrics_match_scikit_learn(task_class: type[ClassificationTask]) -> None:
    torch.manual_seed(0)
    num_classes = 12  # > 5, so top-5 accuracy is reported; class 11 occurs nowhere
    labels = torch.arange(SAMPLES) % 11
    predicted = labels.clone()
    wrong = torch.arange(BATCH, SAMPLES, 3)  # every third sample after the first batch
    predicted[wrong] = (labels[wrong] + 1 + torch.arange(len(wrong)) % 3) % 11
    logits = class_logits(labels, predicted, num_classes)
    images = torch.rand(SAMPLES, 1, 4, 4)
    task = task_class(Lookup(images, logits), num_classes=num_classes, optimizer=SGD)

    reported = run_stages(task, images, labels)

    y, p, scores = labels.numpy(), predicted.numpy(), logits.numpy()
    assert (p[:BATCH] == y[:BATCH]).all() and (p != y).any()
    assert 11 not in y and 11 not in p
    assert_matches(
        reported,
        every_stage(
            {
                "loss": F.cross_entropy(logits, labels).item(),
                "acc": accuracy_score(y, p),
                # labels=None: the classes in y or p (class 11, seen nowhere, does not count)
                "f1": f1_score(y, p, average="macro"),
                "acc_top5": top_k_accuracy_score(y, scores, k=5, labels=range(num_classes)),
            }
        ),
    )


def test_segmentation_metrics_match_scikit_learn() -> None:
    torch.manual_seed(1)
    num_classes = 4  # class 3 occurs nowhere
    masks = torch.randint(0, 3, (SAMPLES, 6, 6))
    predicted = masks.clone()
    noise = torch.rand(SAMPLES, 6, 6) < 0.2
    noise[:BATCH] = False
    predicted[noise] = (predicted[noise] + 1) % 3
    logits = F.one_hot(predicted, num_classes).permute(0, 3, 1, 2).float() * 3.0
    logits += 0.5 * torch.rand_like(logits)
    images = torch.rand(SAMPLES, 1, 6, 6)
    # cross-entropy alone: a mean over pixels, so its batch-size-weighted mean is the overall one
    # (the recipes' Dice loss is a per-batch ratio, which no overall recomputation can match)
    loss = {"cross_entropy": SoftCrossEntropyLoss(smooth_factor=0.0)}
    task = SegmentationTask(
        Lookup(images, logits), num_classes=num_classes, loss=loss, optimizer=SGD
    )

    reported = run_stages(task, images, masks)

    y, p = masks.flatten().numpy(), predicted.flatten().numpy()
    assert (predicted[:BATCH] == masks[:BATCH]).all() and noise.any()
    assert 3 not in y and 3 not in p
    per_class = jaccard_score(y, p, labels=range(num_classes), average=None, zero_division=0)
    assert_matches(
        reported,
        every_stage(
            {
                "loss": F.cross_entropy(logits, masks).item(),
                # labels=None: the classes in y or p (class 3, seen nowhere, does not count)
                "iou": jaccard_score(y, p, average="macro"),
                "dice": f1_score(y, p, average="macro"),
                "pixel_acc": accuracy_score(y, p),
            }
        )
        | {f"test/iou_{k}": per_class[k] for k in range(num_classes)},
    )


def ssim(preds: Tensor, target: Tensor, data_range: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004) over images: 11x11 Gaussian window, sigma 1.5, k1 0.01,
    k2 0.03, borders reflected so every pixel has a window; computed in float64."""
    preds, target = preds.double(), target.double()
    channels = preds.shape[1]
    offsets = torch.arange(11, dtype=torch.float64) - 5
    gauss = torch.exp(-(offsets**2) / (2 * 1.5**2))
    gauss /= gauss.sum()
    window = torch.outer(gauss, gauss).expand(channels, 1, 11, 11)

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(F.pad(x, (5, 5, 5, 5), mode="reflect"), window, groups=channels)

    mu_x, mu_y = blur(preds), blur(target)
    var_x = (blur(preds * preds) - mu_x**2).clamp(min=0)
    var_y = (blur(target * target) - mu_y**2).clamp(min=0)
    cov = blur(preds * target) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return index.flatten(1).mean(dim=1).mean().item()


def test_autoencoder_metrics_match_plain_torch() -> None:
    torch.manual_seed(2)
    images = torch.rand(SAMPLES, 1, 16, 16)
    reconstructions = images.clone()
    reconstructions[BATCH:] += 0.2 * torch.randn(SAMPLES - BATCH, 1, 16, 16)  # some leave [0, 1]
    task = AutoencoderTask(Lookup(images, reconstructions, autoencoder=True), optimizer=SGD)

    reported = run_stages(task, images, torch.zeros(SAMPLES))

    clamped = reconstructions.clamp(0, 1)  # metrics compare pixels in [0, 1], the loss does not
    mse = F.mse_loss(clamped, images).item()
    assert mse > 0 and (reconstructions > 1).any()
    expected = every_stage(
        {
            "loss": F.mse_loss(reconstructions, images).item(),
            "mse": mse,
            "psnr": 10 * math.log10(1.0 / mse),
            "ssim": ssim(clamped, images),
        }
    )
    del expected["train/ssim"]  # SSIM is an evaluation metric: too costly per training batch
    assert_matches(reported, expected)


def test_cnnlab_eval_reports_the_recomputed_metrics(compose_train, tmp_path: Path) -> None:
    # A real run on the digits; its first test batch of 8 images is classified perfectly.
    cfg = compose_train([*TINY, "trainer.limit_train_batches=null", "data.batch_size=8"])
    trained = train(cfg)
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt"

    (tmp_path / "eval").mkdir()
    evaluated = evaluate(str(ckpt), tmp_path / "eval")

    task, datamodule = rebuild_from_checkpoint(ckpt)
    task.eval()
    with torch.no_grad():
        batches = [(task(images), labels) for images, labels in datamodule.test_dataloader()]
    logits = torch.cat([b[0] for b in batches])
    labels = torch.cat([b[1] for b in batches])
    y, p = labels.numpy(), logits.argmax(dim=1).numpy()
    assert (p[:8] == y[:8]).all() and (p != y).any()
    expected = {
        "test/loss": F.cross_entropy(logits, labels).item(),
        "test/acc": accuracy_score(y, p),
        "test/f1": f1_score(y, p, average="macro"),
        "test/acc_top5": top_k_accuracy_score(y, logits.numpy(), k=5, labels=range(10)),
    }
    assert evaluated == pytest.approx(expected, abs=1e-6)
    assert {k: v for k, v in trained.items() if k.startswith("test/")} == pytest.approx(
        expected, abs=1e-6
    )


@pytest.mark.parametrize("num_classes", [3, 10, 11])
def test_perfect_predictions_report_exactly_one(num_classes: int) -> None:
    """torchmetrics' own macro averages of a perfect prediction are 1.0000001 for 10 classes
    (float32 sums of 1/num_classes): every reported metric must be 1.0, not above it."""
    torch.manual_seed(2)
    labels = torch.arange(SAMPLES) % num_classes
    images = torch.rand(SAMPLES, 1, 4, 4)
    logits = class_logits(labels, labels, num_classes)
    masks = labels[:, None, None].expand(SAMPLES, 6, 6).clone()
    mask_logits = F.one_hot(masks, num_classes).permute(0, 3, 1, 2).float() * 3.0
    loss = {"cross_entropy": SoftCrossEntropyLoss(smooth_factor=0.0)}
    tasks = [
        ClassificationTask(Lookup(images, logits), num_classes=num_classes, optimizer=SGD),
        SegmentationTask(
            Lookup(images, mask_logits), num_classes=num_classes, loss=loss, optimizer=SGD
        ),
    ]
    for task, targets in zip(tasks, (labels, masks)):
        reported = run_stages(task, images, targets)
        for name, value in reported.items():
            if name.split("/")[1] in ("acc", "f1", "iou", "dice", "pixel_acc"):
                assert value == 1.0, f"{type(task).__name__} {name}={value!r}"
