"""Neural encoders for OCSF events: TabularResNet and its self-supervised training.

>>> from anomaly_tutorial.models import train_encoder, pretrained_encoder
>>> encoder = pretrained_encoder("contrastive")          # doctest: +SKIP
>>> z = encoder.embed(test_frame, history=train_frame)  # doctest: +SKIP

Modules: :mod:`~anomaly_tutorial.models.tabular_resnet` (the model),
:mod:`~anomaly_tutorial.models.corruption` (SCARF corruption, masking),
:mod:`~anomaly_tutorial.models.objectives` (InfoNCE, masked reconstruction),
:mod:`~anomaly_tutorial.models.training` (:func:`train_encoder`),
:mod:`~anomaly_tutorial.models.loop` (:func:`~anomaly_tutorial.models.loop.fit_module`, the
package's one torch training loop),
:mod:`~anomaly_tutorial.models.selection` (the validation search of the cached encoders'
settings),
:mod:`~anomaly_tutorial.models.persistence` (save/load),
:mod:`~anomaly_tutorial.models.pretrained` (cached encoder of the default dataset),
:mod:`~anomaly_tutorial.models.mlp` (plain vs residual deep MLP experiment),
:mod:`~anomaly_tutorial.models.optim` (a small AdamW that avoids importing ``torch._dynamo``).
"""

from .corruption import (
    CorruptionResult,
    FieldSelection,
    corrupt_marginal,
    mask_fields,
    sample_field_mask,
    select_fields,
)
from .mlp import (
    DepthExperiment,
    PlainMLP,
    ResidualMLP,
    depth_experiment_inputs,
    train_depth_experiment,
)
from .objectives import (
    ContrastiveObjective,
    MaskedReconstructionObjective,
    ProjectionHead,
    info_nce,
)
from .persistence import SchemaMismatchError, check_schema, load_encoder, save_encoder
from .pretrained import PRETRAINED_CONFIGS, pretrained_cache_path, pretrained_encoder
from .tabular_resnet import ResidualBlock, TabularResNet, count_parameters
from .training import OBJECTIVES, EncoderConfig, TrainedEncoder, build_model, train_encoder

__all__ = [
    "OBJECTIVES",
    "PRETRAINED_CONFIGS",
    "ContrastiveObjective",
    "CorruptionResult",
    "DepthExperiment",
    "EncoderConfig",
    "FieldSelection",
    "MaskedReconstructionObjective",
    "PlainMLP",
    "ProjectionHead",
    "ResidualBlock",
    "ResidualMLP",
    "SchemaMismatchError",
    "TabularResNet",
    "TrainedEncoder",
    "build_model",
    "check_schema",
    "corrupt_marginal",
    "count_parameters",
    "depth_experiment_inputs",
    "info_nce",
    "load_encoder",
    "mask_fields",
    "pretrained_cache_path",
    "pretrained_encoder",
    "sample_field_mask",
    "save_encoder",
    "select_fields",
    "train_depth_experiment",
    "train_encoder",
]
