"""Small robust statistics shared across the package.

Public objects: :data:`MAD_TO_SD`, :func:`mad_scale`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: 1.4826 x MAD estimates the standard deviation of a normal distribution (1 / Phi^-1(3/4)).
MAD_TO_SD = 1.482602218505602


def mad_scale(values: ArrayLike, axis: int | None = None) -> np.ndarray | float:
    """``MAD_TO_SD * median(|x - median(x)|)``: a robust standard deviation.

    NaN values are ignored. Returns 0 where more than half of the values are equal; callers
    that divide by it must floor it (each says how in its own docstring).

    Parameters
    ----------
    values
        Numbers; an array of any shape when ``axis`` is given.
    axis
        Axis along which to compute (``None``: over all values).
    """
    x = np.asarray(values, dtype="float64")
    median = np.nanmedian(x, axis=axis, keepdims=True)
    scale = MAD_TO_SD * np.nanmedian(np.abs(x - median), axis=axis)
    return float(scale) if np.ndim(scale) == 0 else scale
