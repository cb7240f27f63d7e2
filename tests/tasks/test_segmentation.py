"""SegmentationTask: metrics against hand computation, weighted losses, batch checks, training."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from segmentation_models_pytorch.losses import DiceLoss, SoftCrossEntropyLoss
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.models.unet import UNet
from cnnlab.pipeline import build_datamodule, build_task
from cnnlab.tasks.segmentation import SegmentationTask

# A 3-class 2x4 mask and a prediction, small enough to count by hand.
TARGET = torch.tensor([[[0, 0, 1, 1], [2, 2, 2, 0]]])
PREDS = torch.tensor([[[0, 1, 1, 1], [2, 2, 0, 0]]])


def make_task(num_classes: int = 3, **options) -> SegmentationTask:
    options.setdefault("loss", {"dice": DiceLoss(options.get("mode", "multiclass"))})
    model = UNet(1, 1 if options.get("mode") == "binary" else num_classes, depth=1, base_channels=4)
    return SegmentationTask(model, num_classes, optimizer=torch.optim.Adam, **options)


def test_metrics_agree_with_a_hand_computation():
    task = make_task()
    metrics = task.metrics["test_metrics"]
    metrics.update(PREDS, TARGET)
    values = metrics.compute()
    # class 0: target {00,01,13}, pred {00,12,13}: intersection 2, union 4 -> IoU 1/2, F1 2*2/(3+3)
    # class 1: target {02,03},    pred {01,02,03}: intersection 2, union 3 -> IoU 2/3, F1 2*2/(2+3)
    # class 2: target {10,11,12}, pred {10,11}:    intersection 2, union 3 -> IoU 2/3, F1 2*2/(3+2)
    assert values["test/iou"] == pytest.approx((1 / 2 + 2 / 3 + 2 / 3) / 3)
    assert values["test/dice"] == pytest.approx((4 / 6 + 4 / 5 + 4 / 5) / 3)
    assert values["test/pixel_acc"] == pytest.approx(6 / 8)
    task.test_class_iou.update(PREDS, TARGET)
    assert task.test_class_iou.compute().tolist() == pytest.approx([1 / 2, 2 / 3, 2 / 3])


def test_ignored_pixels_count_in_no_metric_and_no_loss():
    task = make_task(ignore_index=255)
    target = TARGET.clone()
    target[0, 0, 1] = 255  # the pixel predicted 1 but labelled 0 becomes "void"
    task.metrics["val_metrics"].update(PREDS, target)
    values = task.metrics["val_metrics"].compute()
    # class 0 now: target {00,13}, pred {00,12,13}: IoU 2/3
    # class 1 now: target {02,03}, pred {02,03}: IoU 1
    assert values["val/iou"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    assert values["val/pixel_acc"] == pytest.approx(6 / 7)

    logits = torch.randn(1, 3, 2, 4)
    flipped = logits.clone()
    flipped[0, :, 0, 1] = -flipped[0, :, 0, 1]  # change only the ignored pixel's logits
    ce = make_task(
        ignore_index=255, loss={"ce": SoftCrossEntropyLoss(smooth_factor=0.0, ignore_index=255)}
    )
    assert ce.compute_loss(flipped, target) == pytest.approx(ce.compute_loss(logits, target).item())


def test_the_loss_is_the_weighted_sum_of_the_configured_losses():
    dice, ce = DiceLoss("multiclass"), SoftCrossEntropyLoss(smooth_factor=0.0)
    task = make_task(loss={"dice": dice, "ce": ce, "off": None}, loss_weights={"dice": 0.5})
    logits = torch.randn(2, 3, 4, 4)
    masks = torch.randint(0, 3, (2, 4, 4))
    expected = 0.5 * dice(logits, masks) + 1.0 * ce(logits, masks)
    assert task.compute_loss(logits, masks) == pytest.approx(expected.item())
    assert list(task.losses) == ["dice", "ce"]


def test_loss_config_mistakes_are_config_errors():
    with pytest.raises(ConfigError, match="names no loss"):
        make_task(loss={"dice": None})
    with pytest.raises(ConfigError, match=r"loss_weights names \['focal'\]"):
        make_task(loss_weights={"focal": 1.0})
    with pytest.raises(ConfigError, match="binary needs 0/1 masks"):
        make_task(num_classes=3, mode="binary")


def test_binary_mode_predicts_from_one_logit_and_counts_two_classes():
    task = make_task(num_classes=2, mode="binary", loss={"dice": DiceLoss("binary")})
    logits = torch.tensor([[[[2.0, -1.0], [0.5, -3.0]]]])
    assert task.predict_masks(logits).tolist() == [[[1, 0], [1, 0]]]
    loss = task.compute_loss(logits, torch.tensor([[[1, 0], [1, 0]]]))
    assert loss.item() < 0.3
    task.check_batch((torch.randn(2, 1, 8, 8), torch.zeros(2, 8, 8, dtype=torch.long)))


def test_multiclass_masks_are_the_first_largest_logit_as_argmax_picks_it():
    task = make_task(num_classes=5)
    logits = torch.randint(0, 3, (4, 5, 6, 6)).float()  # small integers: ties in most pixels
    logits[0, 2, 0, 0] = float("nan")  # argmax takes a NaN as the largest value
    logits[1, :, 1, 1] = 0.0  # all five equal: the first class
    masks = task.predict_masks(logits)
    assert masks.dtype == torch.long
    assert torch.equal(masks, logits.argmax(dim=1))
    assert masks[0, 0, 0] == 2 and masks[1, 1, 1] == 0


def test_check_batch_explains_wrong_classes_labels_and_sizes():
    images, masks = torch.randn(2, 1, 8, 8), torch.zeros(2, 8, 8, dtype=torch.long)
    with pytest.raises(ConfigError, match=r"\(3, 8, 8\).*need \(5, 8, 8\).*with 5 output"):
        make_task(num_classes=3).__class__(
            UNet(1, 3, depth=1), 5, {"dice": DiceLoss("multiclass")}, optimizer=torch.optim.Adam
        ).check_batch((images, masks))
    with pytest.raises(ConfigError, match=r"masks of shape \(N, H, W\).*\(2,\)"):
        make_task().check_batch((images, torch.zeros(2, dtype=torch.long)))
    with pytest.raises(ConfigError, match="cannot take this data's images"):
        make_task().check_batch((torch.randn(2, 3, 8, 8), masks))
    with pytest.raises(ConfigError, match="divisible by 2"):
        make_task().check_batch((torch.randn(2, 1, 7, 7), torch.zeros(2, 7, 7, dtype=torch.long)))


def test_overfitting_a_single_small_batch_reaches_iou_above_0_9(compose_train):
    """A U-Net that cannot memorise 8 canvases has a bug in the model, loss or metrics."""
    cfg = compose_train(
        [
            "experiment=canvas_unet",
            "data.num_images=12",  # 2 test, 2 val, 8 train: the training split is one batch
            "data.batch_size=8",
            "data.augment.crop_padding=0",
            "task.optimizer.lr=0.002",
            "task.scheduler=null",
        ]
    )
    pl.seed_everything(0)
    datamodule = build_datamodule(cfg.data)
    task = build_task(cfg, datamodule)
    trainer = pl.Trainer(
        max_epochs=200,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(task, datamodule=datamodule)

    images, masks = datamodule.splits["train"]
    assert len(images) == 8
    task.eval()
    metrics = task.metrics["test_metrics"]
    metrics.reset()
    with torch.no_grad():
        metrics.update(task.predict_masks(task(images)), masks)
    assert masks.unique().numel() > 4  # several digit classes in the batch, not just background
    assert metrics.compute()["test/iou"] > 0.9


def test_a_model_without_per_pixel_output_is_refused_before_training():
    flat = nn.Sequential(nn.Flatten(), nn.LazyLinear(3))
    task = SegmentationTask(flat, 3, {"dice": DiceLoss("multiclass")}, optimizer=torch.optim.Adam)
    with pytest.raises(ConfigError, match=r"outputs \(3,\) per image"):
        task.check_batch((torch.randn(2, 1, 8, 8), torch.zeros(2, 8, 8, dtype=torch.long)))
