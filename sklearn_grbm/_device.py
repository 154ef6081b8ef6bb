"""Choosing the torch device and dtype, moving arrays there and back,
deciding whether training data is streamed to the device (out-of-core), and
which kernels the CPU's float32 products run on."""

import contextlib
import functools
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


#: Training on the CPU in float32 with at least this many weights
#: (``n_components * n_features``) runs its products on oneDNN's kernels where
#: they compute in float32 (:func:`onednn_float32_is_exact`). On the
#: development machine (an AMD EPYC with AVX-512, torch's CPU build, 2
#: threads) the three CD products of a minibatch take 0.44 to 0.62 times as
#: long as with the default (MKL) from 39,200 weights (50 hidden units on 784
#: columns) up, 0.79 at 7,840, but 1.4 to 1.7 times as long at the digits'
#: 16,384 and below on small minibatches, where oneDNN's call costs more.
ONEDNN_MIN_WEIGHTS = 2**15

#: The probe's relative error above which oneDNN's products are not float32:
#: float32 products of 784 terms err by about 1e-7 of the largest, bfloat16
#: inputs by about 4e-3.
ONEDNN_FLOAT32_TOLERANCE = 1e-5


@contextlib.contextmanager
def onednn_products():
    """Within the block, float32 products on the CPU go to oneDNN.

    torch sends them there only when they may convert their inputs to
    bfloat16 (``torch.backends.mkldnn.matmul.fp32_precision = "bf16"``);
    oneDNN does so only on CPUs with AMX, and on others runs its own float32
    kernels, faster than MKL's on some. Process-wide while the block runs
    (restored after): other threads' products run there too.
    """
    matmul = torch.backends.mkldnn.matmul
    previous = matmul.fp32_precision
    matmul.fp32_precision = "bf16"
    try:
        yield
    finally:
        matmul.fp32_precision = previous


def computes_in_float32(multiply):
    """Whether ``multiply(a, b)`` of float32 matrices (a product of a CD
    minibatch's shape) is as exact as float32, against float64."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(128, 784, generator=generator)
    b = torch.randn(784, 256, generator=generator)
    exact = a.double() @ b.double()
    error = float((multiply(a, b).double() - exact).abs().max() / exact.abs().max())
    return error < ONEDNN_FLOAT32_TOLERANCE


@functools.cache
def onednn_float32_is_exact():
    """Whether oneDNN's products (:func:`onednn_products`) compute in float32
    on this machine. Where they would round to bfloat16 (AMX), or where torch
    has no such setting (older releases), training keeps MKL's."""
    matmul = getattr(torch.backends.mkldnn, "matmul", None)  # absent from older torch
    if not (torch.backends.mkldnn.is_available() and hasattr(matmul, "fp32_precision")):
        return False

    def multiply(a, b):
        with onednn_products():
            return a @ b

    return computes_in_float32(multiply)


def training_products(device, dtype, n_weights):
    """The context a fit's epochs run in: :func:`onednn_products` on the CPU in
    float32 for models of ONEDNN_MIN_WEIGHTS weights or more where oneDNN
    computes in float32, else nothing changed."""
    use = (
        device.type == "cpu"
        and dtype == torch.float32
        and n_weights >= ONEDNN_MIN_WEIGHTS
        and onednn_float32_is_exact()
    )
    return onednn_products() if use else contextlib.nullcontext()
