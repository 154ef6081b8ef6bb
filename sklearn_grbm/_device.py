"""Choosing the torch device and dtype, moving arrays there and back, and
deciding whether training data is streamed to the device (out-of-core)."""

import mmap
import warnings

import numpy as np
import torch

from .exceptions import DeviceWarning


def _mps_available():
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(device):
    """Turn the estimator's ``device`` parameter into an available ``torch.device``.

    ``"auto"`` never fails: CUDA, then Apple's MPS, then the CPU. An explicit
    device that is not there raises ``ValueError`` naming it.
    """
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from exc
    kind = resolved.type
    if kind == "cpu":
        return resolved
    if kind == "meta":
        raise ValueError("device='meta' holds no data and cannot train a model")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on "
                f"this machine (torch.cuda.is_available() is False); use "
                f"device='auto' or device='cpu'"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible"
            )
        return resolved
    if kind == "mps":
        if not _mps_available():
            raise ValueError(
                f"device={device!r} was requested but Apple's MPS backend is not "
                f"available on this machine; use device='auto' or device='cpu'"
            )
        return resolved
    backend = getattr(torch, kind, None)
    if backend is None or not backend.is_available():
        raise ValueError(f"device={device!r} is not available on this machine")
    return resolved


def compute_dtype(np_dtype, device):
    """The torch dtype to compute in: the data's, except float64 on MPS."""
    dtype = torch.float32 if np.dtype(np_dtype) == np.float32 else torch.float64
    if dtype == torch.float64 and device.type == "mps":
        warnings.warn(
            "MPS has no float64 support: computing in float32, returning float64",
            DeviceWarning,
            stacklevel=3,
        )
        dtype = torch.float32
    return dtype


def to_tensor(array, device, dtype, *, copy=False):
    """Move a NumPy array to ``device`` (zero-copy on the CPU unless ``copy``).

    A copy is always C-contiguous, whatever the array's memory order: in-place
    updates (the fused Adam kernel among them) pair elements by memory
    position, so a parameter must be laid out as its gradient is.
    """
    if copy:
        return torch.tensor(np.ascontiguousarray(array), device=device, dtype=dtype)
    with warnings.catch_warnings():
        # Read-only arrays (memmaps) are only ever read here.
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.as_tensor(array, device=device, dtype=dtype)


def to_numpy(tensor, np_dtype):
    """A NumPy array of ``np_dtype`` from a tensor on any device."""
    return tensor.detach().to("cpu").numpy().astype(np_dtype, copy=False)


def inference_device(device):
    """The device to compute on after a fit: ``device`` if available, else the
    CPU with a :class:`DeviceWarning` (a model fitted on a GPU still works on a
    machine without one)."""
    try:
        return resolve_device(device)
    except ValueError as exc:
        warnings.warn(f"{exc}; computing on the CPU instead", DeviceWarning, stacklevel=3)
        return torch.device("cpu")


def is_memory_mapped(X):
    """Whether X is (a view of) a memory-mapped file."""
    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap) or isinstance(X.base, mmap.mmap):
            return True
        X = X.base
    return False


def should_stream(out_of_core, X, device, memory_mapped):
    """Whether to leave X on the host and copy each minibatch (``out_of_core``)."""
    if out_of_core != "auto":
        return bool(out_of_core)
    if device.type == "cpu":
        return False
    if memory_mapped:
        return True
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return X.nbytes > 0.5 * free
    return False
