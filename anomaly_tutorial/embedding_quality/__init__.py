"""Is an embedding of events any good? Metrics that answer it without trusting the loss.

* neighbourhoods: :func:`knn_agreement` (do events of one anomaly type lie together?),
  :func:`nearest_events` (retrieval examples with key fields);
* known groups: :func:`group_separation` (silhouette, Davies-Bouldin on service, endpoint,
  event class), :func:`linear_probe` (balanced accuracy of a logistic regression, train ->
  test);
* geometry: :func:`alignment` and :func:`uniformity` (Wang & Isola 2020) on L2-normalised
  embeddings, :func:`view_alignment` for an encoder and corrupted views of events;
* stability: :func:`linear_cka`, :func:`knn_overlap`, :func:`embedding_stability` and
  :func:`seed_stability`, which trains encoders with different seeds and compares them;
* :func:`sweep_encoders`: choose encoder settings on a validation period;
* :func:`compare_representations`: k-NN-distance detection (ROC-AUC, PR-AUC on the test
  period) and the metrics above for raw features, PCA and encoders side by side.

>>> from anomaly_tutorial.embedding_quality import knn_agreement, linear_cka
>>> knn_agreement(z_test, test_labels["anomaly_type"], k=10).anomalous  # doctest: +SKIP
"""

from .compare import (
    DEFAULT_GROUPS,
    Representation,
    compare_representations,
    embed_representations,
    encoder_representation,
    featurizer_representation,
    knn_distance_scores,
    pca_representation,
    quality_sample,
)
from .geometry import alignment, l2_normalize, linear_cka, uniformity
from .groups import cap_per_class, group_separation, linear_probe
from .neighbors import (
    DEFAULT_RETRIEVAL_COLUMNS,
    KNNAgreement,
    knn_agreement,
    knn_indices,
    knn_overlap,
    nearest_events,
)
from .selection import sweep_encoders
from .stability import SeedStability, embedding_stability, seed_stability
from .views import (
    class_consistency,
    corrupted_view,
    corruption_fields,
    split_rows,
    view_alignment,
)

__all__ = [
    "DEFAULT_GROUPS",
    "DEFAULT_RETRIEVAL_COLUMNS",
    "KNNAgreement",
    "Representation",
    "SeedStability",
    "alignment",
    "cap_per_class",
    "class_consistency",
    "compare_representations",
    "corrupted_view",
    "corruption_fields",
    "embed_representations",
    "embedding_stability",
    "encoder_representation",
    "featurizer_representation",
    "group_separation",
    "knn_agreement",
    "knn_distance_scores",
    "knn_indices",
    "knn_overlap",
    "l2_normalize",
    "linear_cka",
    "linear_probe",
    "nearest_events",
    "pca_representation",
    "quality_sample",
    "seed_stability",
    "split_rows",
    "sweep_encoders",
    "uniformity",
    "view_alignment",
]
