"""Limits on the BLAS threads around the engine's large products (threadpoolctl, when installed)."""

from __future__ import annotations

import contextlib

__all__ = ["blas_threads"]

#: The threadpoolctl controller, made on first use (None where threadpoolctl is missing).
_CONTROLLER: list = []


def blas_threads(limit: int | None):
    """A context limiting the BLAS threads (threadpoolctl, when installed; otherwise nothing)."""
    if limit is None:
        return contextlib.nullcontext()
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn, a pgmpy dependency
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController())
    controller = _CONTROLLER[0]
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=limit, user_api="blas")
