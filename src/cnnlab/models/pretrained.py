"""The import path of the timm factory before `cnnlab.models.timm_models`, for one release.

Run directories recorded earlier name `cnnlab.models.pretrained.timm_classifier` as the model's
`_target_`; this alias lets cnnlab-eval and cnnlab-reproduce rebuild them. It goes with
`cnnlab.models.legacy` in the next release.
"""

from __future__ import annotations

from cnnlab.models.timm_models import timm_classifier

__all__ = ["timm_classifier"]
