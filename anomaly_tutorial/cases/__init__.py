"""Data generators and pipelines of the book's case studies.

One module per case study, imported directly (``from anomaly_tutorial.cases import cards``):

* :mod:`anomaly_tutorial.cases.network` — network security on OCSF activity;
* :mod:`anomaly_tutorial.cases.sensors` — industrial sensors of a small plant;
* :mod:`anomaly_tutorial.cases.cards` — card-transaction fraud.
"""
