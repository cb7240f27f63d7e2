"""A trained run put to use: predict on new image files, export to ONNX / TorchScript.

Everything here starts from a checkpoint alone: the model and the preprocessing are rebuilt from
the run config stored in it (`cnnlab.pipeline.rebuild_from_checkpoint`), under the same trust
rules as `cnnlab-eval`.
"""
