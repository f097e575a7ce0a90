"""Idea vectors: computed by the worker, kept in `idea_vector`, searched in memory.

* :func:`mark_for_embedding` (in the submit or edit transaction) writes the
  idea's row as ``pending`` and asks for an ``embed_ideas`` job after the
  commit (``ideas.outbox.record_job``); the request never waits for the model.
* :func:`embed_pending` (the worker's job and sweep, ``touchpoint similar
  reindex``) embeds ideas whose row is pending, missing, or from another
  model version, and stores the int8 vector with :data:`MODEL_VERSION`.
* :class:`VectorIndex` is a process's copy of every current vector: an int8
  matrix (384 bytes an idea: 38 MB at 100,000 ideas) searched exactly with
  one int32 dot product per idea up to :data:`EXACT_UP_TO` ideas (onnxruntime's
  int8 kernel, :class:`Int8Dot`; numpy's einsum where it cannot load); above, the
  sign bits of the vectors (48 bytes an idea) pick the :data:`PREFILTER`
  nearest by Hamming distance first and only those are scored exactly
  (bench/similar_scale.py: 2.8x faster at 100,000 ideas, 99.8 % of the
  ideas above the suggestion threshold kept). Refreshed incrementally: at
  most every :data:`REFRESH_SECONDS` the rows stamped after the newest seen,
  every :data:`WINDOW_SECONDS` also the last :data:`REFRESH_OVERLAP` again
  (late commits; rows read before with the same stamp are skipped).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ideas import clock, embedding, outbox, publish, similarity, sql
from ideas.db import write_transaction
from ideas.tables import Idea, IdeaVector

log = logging.getLogger("touchpoint.similar")

EMBED_JOB = "embed_ideas"
#: a search re-reads changed rows at most this often
REFRESH_SECONDS = 2.0
#: A refresh reads the rows stamped after the newest stamp it has seen; at
#: most this often it also re-reads the last REFRESH_OVERLAP (rows a late
#: commit stamped earlier) and counts the table's current vectors (rows that
#: went away). Both are heavy after a bulk write: every row of a reindex is
#: in the overlap for two minutes (100,000 rows re-read every 2 s halved the
#: similar endpoint's throughput at L), and the count takes 18 ms at 100,000
#: rows (1 request in 90 at the bench's half load when it ran every 2 s).
#: Meanwhile a late row shows up to this much later, and a deleted idea's
#: vector stays harmlessly (suggestions are read back from `idea`).
WINDOW_SECONDS = 30.0
#: rows changed this long before the last look are read again (a transaction
#: that committed late with an earlier timestamp is not missed)
REFRESH_OVERLAP = dt.timedelta(minutes=2)
#: after a batch comes out (ideas.publish), the index counts as incomplete
#: this long, whatever it holds: its ideas submitted in the batch's last
#: seconds may still lack their vector (found meanwhile by their words), and
#: the search's cost must not say whether one did -- that would tell a
#: submission's second. Longer than a refresh plus the worker's embedding.
FRESH_BATCH = dt.timedelta(seconds=15)
#: ideas embedded per model call
BATCH = 16
#: exact search up to this many ideas; above, a sign-bit prefilter first
EXACT_UP_TO = 20_000
#: ideas the prefilter hands to the exact scoring
PREFILTER = 2000
_WORDS = embedding.DIM // 64

# one thread runs the model in a process (see ideas.embedding)
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")


async def in_model_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_executor, fn, *args)


async def load_embedder() -> embedding.Embedder | None:
    """The process's embedder, loaded off the event loop on first use."""
    if embedding.status() != "not loaded":
        return embedding.get_embedder()
    return await in_model_thread(embedding.get_embedder)


# --------------------------------------------------------------------------- #
# Writing vectors
# --------------------------------------------------------------------------- #


async def mark_for_embedding(
    idea_id: int, now: dt.datetime | None = None, visible: bool = True
) -> None:
    """Call inside the transaction that creates or edits an idea's text
    (`visible`: others can see the idea already)."""
    now = now or clock.now()
    await (
        IdeaVector.insert(IdeaVector(idea=idea_id, pending=True, updated_at=now))
        .on_conflict(
            target=IdeaVector.idea,
            action="DO UPDATE",
            values=[IdeaVector.pending, IdeaVector.updated_at],
        )
        .run()
    )
    asked_for_embedding(idea_id, now, visible)


def asked_for_embedding(idea_id: int, now: dt.datetime, visible: bool = True) -> None:
    """What follows writing an idea's vector row as pending (here, or in the
    statement that creates the idea: ideas.sql.submit_statement): the
    worker's job, and -- when others can see the idea already -- this
    process's index no longer complete. An idea not yet published leaves it
    as it was (VectorIndex._all_current: the search's cost must not change
    with a submission before its batch)."""
    if visible and _index is not None:
        _index.complete = False  # this process sees its own writes at once
    outbox.record_job(
        EMBED_JOB,
        [idea_id],
        job_id=f"embed:{idea_id}:{int(now.timestamp() * 1000)}",
        queue=outbox.INDEX_QUEUE,
    )


async def ideas_to_embed(limit: int, ids: Iterable[int] | None = None) -> list[dict]:
    """Ideas whose vector is pending, missing, or from another model."""
    where = ""
    args: list[Any] = [embedding.MODEL_VERSION]
    if ids is not None:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        condition, in_args = sql.in_list("i.id", ids)
        where = f" AND {condition}"
        args.extend(in_args)
    args.append(int(limit))
    return await Idea.raw(
        "SELECT i.id, i.title, i.problem, i.proposal FROM idea i "
        "LEFT JOIN idea_vector v ON v.idea = i.id "
        "WHERE (v.idea IS NULL OR v.pending OR v.model <> {} OR v.vector IS NULL)"
        f"{where} ORDER BY i.id LIMIT {{}}",
        *args,
    ).run()


async def count_to_embed() -> int:
    rows = await Idea.raw(
        "SELECT COUNT(*) AS n FROM idea i LEFT JOIN idea_vector v ON v.idea = i.id "
        "WHERE (v.idea IS NULL OR v.pending OR v.model <> {} OR v.vector IS NULL)",
        embedding.MODEL_VERSION,
    ).run()
    return int(rows[0]["n"])


async def store_vectors(rows: list[dict], vectors: Any, now: dt.datetime | None = None) -> None:
    now = now or clock.now()
    async with write_transaction():
        for row, vector in zip(rows, vectors, strict=True):
            await (
                IdeaVector.insert(
                    IdeaVector(
                        idea=row["id"],
                        model=embedding.MODEL_VERSION,
                        vector=embedding.to_bytes(vector),
                        pending=False,
                        updated_at=now,
                    )
                )
                .on_conflict(
                    target=IdeaVector.idea,
                    action="DO UPDATE",
                    values=[
                        IdeaVector.model,
                        IdeaVector.vector,
                        IdeaVector.pending,
                        IdeaVector.updated_at,
                    ],
                )
                .run()
            )


async def embed_pending(
    limit: int = 200,
    ids: Iterable[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Embed up to ``limit`` ideas that need it (only ``ids`` when given);
    returns how many were stored, 0 when the model is unavailable."""
    embedder = await load_embedder()
    if embedder is None:
        return 0
    rows = await ideas_to_embed(limit, ids)
    done = 0
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        texts = [embedding.stored_text(r["title"], r["problem"], r["proposal"]) for r in part]
        vectors = await in_model_thread(embedder.embed, texts)
        await store_vectors(part, vectors)
        if _index is not None:
            _index.checked_at = 0.0  # this process sees its own writes at once
        done += len(part)
        if progress:
            progress(len(part))
    return done


# --------------------------------------------------------------------------- #
# Searching
# --------------------------------------------------------------------------- #


class VectorIndex:
    """Every current idea vector of this process, as one int8 matrix."""

    def __init__(self) -> None:
        self._np = np = embedding.numpy_one_thread()
        self.matrix = np.zeros((0, embedding.DIM), dtype=np.int8)
        self.bits = np.zeros((_WORDS, 0), dtype=np.uint64)
        self.ids = np.zeros(0, dtype=np.int64)
        self.size = 0
        self.row_of: dict[int, int] = {}
        self.seen_until: dt.datetime | None = None
        #: rows stamped before this were read by an earlier refresh: they were
        #: written more than REFRESH_OVERLAP before it started
        self.read_from: dt.datetime | None = None
        self.checked_at = 0.0
        #: the stamp (POSIX seconds) of each row's vector as read
        self.stamps = np.zeros(0, dtype=np.float64)
        #: when the overlap was last re-read and the table's count of current
        #: vectors compared with this copy's (WINDOW_SECONDS)
        self.window_read_at = 0.0
        self._complete = False
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return self.size

    @property
    def complete(self) -> bool:
        """At the last look every idea others can see had its current vector
        here (none pending, none missing), and no batch has come out since
        less than :data:`FRESH_BATCH`: the search need not look by words too."""
        if not self._complete:
            return False
        since = publish.since_batch(clock.now())
        return since is None or since >= FRESH_BATCH

    @complete.setter
    def complete(self, value: bool) -> None:
        self._complete = value

    def has(self, idea_id: int) -> bool:
        return idea_id in self.row_of

    def put(self, idea_id: int, vector: Any, stamp: float = 0.0) -> None:
        np = self._np
        row = self.row_of.get(idea_id)
        if row is None:
            if self.size == len(self.matrix):
                grown = max(1024, 2 * len(self.matrix))
                matrix = np.zeros((grown, embedding.DIM), dtype=np.int8)
                matrix[: self.size] = self.matrix[: self.size]
                bits = np.zeros((_WORDS, grown), dtype=np.uint64)
                bits[:, : self.size] = self.bits[:, : self.size]
                ids = np.full(grown, -1, dtype=np.int64)
                ids[: self.size] = self.ids[: self.size]
                stamps = np.zeros(grown, dtype=np.float64)
                stamps[: self.size] = self.stamps[: self.size]
                self.matrix, self.bits, self.ids, self.stamps = matrix, bits, ids, stamps
            row = self.size
            self.size += 1
            self.row_of[idea_id] = row
            self.ids[row] = idea_id
        self.matrix[row] = vector
        self.bits[:, row] = _sign_bits(np, vector)
        self.stamps[row] = stamp

    def drop(self, idea_id: int) -> None:
        row = self.row_of.pop(idea_id, None)
        if row is None:
            return
        last = self.size - 1
        if row != last:
            moved = int(self.ids[last])
            self.matrix[row] = self.matrix[last]
            self.bits[:, row] = self.bits[:, last]
            self.stamps[row] = self.stamps[last]
            self.ids[row] = moved
            self.row_of[moved] = row
        self.ids[last] = -1
        self.size = last

    def search(self, query: Any, limit: int, min_score: float = -1.0) -> list[tuple[int, float]]:
        """``(idea id, cosine)`` of the best ``limit`` ideas scoring at least
        ``min_score``, best first (ties: the lower id first)."""
        np = self._np
        if self.size == 0 or limit <= 0:
            return []
        quantized = embedding.quantize(query)
        if self.size > EXACT_UP_TO:
            rows = self._nearest_by_signs(_sign_bits(np, quantized))
            # float32 is exact here (|a sum of 384 products of int8s| < 2**24)
            # and runs on BLAS: 3.4x faster than an int32 product
            scores = self.matrix[rows].astype(np.float32) @ quantized.astype(np.float32)
        else:
            rows = np.arange(self.size)
            kernel = int8_dot()
            if kernel is not None:
                scores = kernel(self.matrix[: self.size], quantized)
            else:
                # no float copy of the whole matrix: einsum casts it chunk by chunk
                scores = np.einsum("ij,j->i", self.matrix[: self.size], quantized.astype(np.int32))
        k = min(limit, len(rows))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
        scale = float(embedding.SCALE**2)
        found = [(int(self.ids[rows[r]]), float(scores[r]) / scale) for r in top]
        found = [(i, round(s, 4)) for i, s in found if s >= min_score]
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found

    def _nearest_by_signs(self, query_bits: Any) -> Any:
        """The rows of the :data:`PREFILTER` vectors whose signs differ least
        from the query's (Hamming distance): the bits are kept word by word
        (one contiguous array per 64 components), the distances counted per
        word and cut at the histogram's quantile -- 0.7 ms at 100,000 ideas
        where a row-wise sum and an argpartition took 3 ms."""
        np = self._np
        size = self.size
        far = np.bitwise_count(self.bits[0, :size] ^ query_bits[0]).astype(np.uint16)
        for word in range(1, _WORDS):
            far += np.bitwise_count(self.bits[word, :size] ^ query_bits[word])
        if size <= PREFILTER:
            return np.arange(size)
        within = np.cumsum(np.bincount(far, minlength=embedding.DIM + 1))
        cut = int(np.searchsorted(within, PREFILTER))  # first distance reaching it
        closer = np.flatnonzero(far < cut)
        tied = np.flatnonzero(far == cut)[: PREFILTER - len(closer)]
        return np.concatenate((closer, tied))

    async def _lost_rows(self, changed: list[dict]) -> bool:
        """Does the table hold fewer current vectors than this copy will?
        (Counted over the changed rows only: no set of every id.)"""
        rows = await IdeaVector.raw(
            "SELECT COUNT(*) AS n FROM idea_vector WHERE model = {} AND vector IS NOT NULL",
            embedding.MODEL_VERSION,
        ).run()
        current = {
            int(r["idea"]): bool(r["model"] == embedding.MODEL_VERSION and r["vector"])
            for r in changed
        }
        held = self.size
        for idea_id, is_current in current.items():
            if is_current and idea_id not in self.row_of:
                held += 1
            elif not is_current and idea_id in self.row_of:
                held -= 1
        return int(rows[0]["n"]) != held

    async def refresh(self, force: bool = False) -> None:
        """Read the rows changed since the last look (all of them the first
        time), at most every :data:`REFRESH_SECONDS` unless ``force``."""
        if not force and time.monotonic() - self.checked_at < REFRESH_SECONDS:
            return
        async with self._lock:
            if not force and time.monotonic() - self.checked_at < REFRESH_SECONDS:
                return
            started = time.monotonic()
            started_at = clock.now()
            query = IdeaVector.select(
                IdeaVector.idea, IdeaVector.model, IdeaVector.vector, IdeaVector.updated_at
            )
            window = force or started - self.window_read_at >= WINDOW_SECONDS
            if self.seen_until is not None and not window:
                query = query.where(IdeaVector.updated_at > self.seen_until)
            elif self.seen_until is not None:
                # Not "since the newest stamp seen, minus the overlap": rows
                # sharing that stamp (a reindex, a restored database) were read
                # again by every refresh, for as long as nothing newer came
                # (100,001 rows every 2 s at L). A row stamped more than the
                # overlap before the previous window read began was read by it.
                since = self.seen_until - REFRESH_OVERLAP
                if self.read_from is not None and self.read_from > since:
                    since = self.read_from
                query = query.where(IdeaVector.updated_at >= since)
            rows = await query.run()
            if self.seen_until is not None and window and await self._lost_rows(rows):
                # rows went away (ideas deleted, a database rebuilt): read all
                self.__init__()
                rows = await IdeaVector.select(
                    IdeaVector.idea, IdeaVector.model, IdeaVector.vector, IdeaVector.updated_at
                ).run()
            latest = self.seen_until
            for r in rows:
                idea_id, stamp = int(r["idea"]), r["updated_at"]
                raw = r["vector"]
                if r["model"] == embedding.MODEL_VERSION and raw:
                    seconds = stamp.timestamp()
                    row = self.row_of.get(idea_id)
                    if row is None or self.stamps[row] != seconds:  # else read before
                        self.put(idea_id, embedding.from_bytes(bytes(raw)), seconds)
                else:
                    self.drop(idea_id)
                if latest is None or stamp > latest:
                    latest = stamp
            self.seen_until = latest
            if window:
                self.read_from = started_at - REFRESH_OVERLAP
                self.window_read_at = started
            self.complete = await self._all_current()
            self.checked_at = started

    async def _all_current(self) -> bool:
        """Every idea others can see has its current vector here: none of them
        pending, and no more of them with similar-search terms (term_doc_freq's
        count, less the ideas not yet published) than vectors here (less
        theirs). Two look-ups, and a third, of the few ideas not yet published,
        when the first finds nothing pending.

        Ideas not yet published (ideas.publish) take no part in the decision:
        a submission makes its vector pending seconds before the worker
        stores it, and the search's cost while the index is incomplete (the
        pass by words) would tell anyone polling the suggestions the second
        someone submitted an idea. (Their terms are written only from their
        batch on, ideas.term_index; the count still leaves out any an older
        version wrote.)"""
        now = clock.now()
        rows = await IdeaVector.raw(
            "SELECT EXISTS (SELECT 1 FROM idea_vector v JOIN idea i ON i.id = v.idea "
            "WHERE v.pending AND (i.published_at IS NULL OR i.published_at <= {})) AS p, "
            "(SELECT ideas FROM term_doc_freq WHERE term = {}) AS n",
            now,
            similarity.ALL_IDEAS,
        ).run()
        if rows[0]["p"]:
            return False
        counted = int(rows[0]["n"] or 0)
        held = self.size
        for r in await IdeaVector.raw(
            "SELECT i.id, EXISTS (SELECT 1 FROM idea_term t WHERE t.idea = i.id) AS termed "
            "FROM idea i WHERE i.published_at > {}",
            now,
        ).run():
            counted -= 1 if r["termed"] else 0
            held -= 1 if int(r["id"]) in self.row_of else 0
        return counted <= held


class Int8Dot:
    """An int8 matrix times an int8 vector, exact, in int32: one
    ``MatMulInteger`` node (``ideas/data/int8_dot.onnx``, made by
    ``scripts/build_int8_dot_onnx.py``) run by onnxruntime on one thread.
    onnxruntime's int8 kernels read the int8 matrix as it is: 0.55 ms of CPU
    for 10,000 ideas where numpy's einsum (which widens each row to int32)
    took 0.92 ms (medians of alternating rounds on the same machine), and no
    float copy of the matrix is kept."""

    def __init__(self) -> None:
        import onnxruntime as ort

        actual = embedding.sha256_of(INT8_DOT_PATH)
        if actual != INT8_DOT_SHA256:
            raise embedding.ModelUnavailable(
                f"{INT8_DOT_PATH} has sha256 {actual[:16]}..., expected {INT8_DOT_SHA256[:16]}..."
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(INT8_DOT_PATH), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, matrix: Any, query: Any) -> Any:
        """``matrix @ query`` (int8 ``(n, DIM)`` and ``(DIM,)``) as int32 ``(n,)``."""
        column = query.reshape(embedding.DIM, 1)
        return self._session.run(None, {"matrix": matrix, "query": column})[0][:, 0]


INT8_DOT_PATH = embedding.DATA / "int8_dot.onnx"
INT8_DOT_SHA256 = "49c812d415dcf0887feb1617102edbac45136c98fcfe219ded40c7d1d536df40"
_int8_dot: Int8Dot | None = None
_int8_dot_failed = False
_int8_dot_lock = threading.Lock()


def int8_dot() -> Int8Dot | None:
    """This process's :class:`Int8Dot` (loaded once), or ``None`` when
    onnxruntime or its file is not usable: the search then uses numpy (the
    same scores, slower), and says so once in the log."""
    global _int8_dot, _int8_dot_failed
    if _int8_dot is None and not _int8_dot_failed:
        with _int8_dot_lock:
            if _int8_dot is None and not _int8_dot_failed:
                try:
                    _int8_dot = Int8Dot()
                except Exception as exc:  # noqa: BLE001 - any failure: numpy does it
                    _int8_dot_failed = True
                    log.warning("int8 search kernel unavailable (%s); numpy scores instead", exc)
    return _int8_dot


def _sign_bits(np: Any, vector: Any) -> Any:
    """The signs of a vector's components, packed into 64-bit words."""
    return np.packbits(np.asarray(vector) > 0, axis=-1).view(np.uint64)


_index: VectorIndex | None = None


def get_index() -> VectorIndex:
    global _index
    if _index is None:
        _index = VectorIndex()
    return _index


def reset_index() -> None:
    """Forget the cached matrix (tests that rebuild the database)."""
    global _index
    _index = None


async def search(
    title: str, text: str, limit: int, min_score: float
) -> list[tuple[int, float]] | None:
    """Ideas closest in meaning to a draft, or ``None`` when the model is
    unavailable (the caller ranks lexically)."""
    embedder = await load_embedder()
    if embedder is None:
        return None
    vector = await in_model_thread(embedder.embed_one, embedding.idea_text(title, text))
    index = get_index()
    await index.refresh()
    return index.search(vector, limit, min_score)
