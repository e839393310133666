"""Companion package of the book *Anomaly Detection for Observability and Security Data*.

Every algorithm the book uses lives here, tested; the chapters call it.
"""

__version__ = "0.1.0"
