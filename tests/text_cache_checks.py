"""The text reader's two fast paths checked against its plain parser, as the reader tests use
them: the shape cache (a line of a shape seen before is filed from its remembered spans) and the
block path (many lines of one shape filed at once) must give what the uncached parser gives.

:func:`on_both_cores` runs a per-file check over the benchmark's 4000 text logs in two worker
processes: the check is pure Python and the files are independent, and the CI machine has two
cores that the rest of the suite, one process, leaves half idle.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["parse_both", "same_records", "columns_three", "same_columns", "block_path_agrees",
           "real_text_logs", "same_records_with_and_without_cache", "block_path_agrees_on", "on_both_cores"]

#: the suffixes of the benchmark's text logs
TEXT_SUFFIXES = (".log", ".txt", ".md", ".csv", ".jsonl")


def parse_both(lines):
    from lrdoctor.io import textlog as tl

    on = tl.parse_lines(lines)
    saved = tl._BUILTIN_PARSERS
    tl._BUILTIN_PARSERS = []  # not the registered rules: the shape cache is off
    try:
        off = tl.parse_lines(lines)
    finally:
        tl._BUILTIN_PARSERS = saved
    return on, off


def same_records(a, b):
    """Same records (values equal as floats, NaN equal to NaN; -0.0 equals 0.0) and config."""
    def eq(x, y):
        x, y = float(x), float(y)
        return x == y or (x != x and y != y)

    def same_config(x, y):  # (a card's config may hold a NaN: "Loss: nan" in its summary)
        return x.keys() == y.keys() and all(
            eq(x[k], y[k]) if isinstance(x[k], float) and isinstance(y[k], float) else x[k] == y[k] for k in x)

    return len(a[0]) == len(b[0]) and same_config(a[1], b[1]) and all(
        ra.keys() == rb.keys() and all(eq(ra[k], rb[k]) for k in ra) for ra, rb in zip(a[0], b[0]))


def columns_three(lines):
    """The columns a RecordColumns sink holds after reading ``lines`` three ways: with the shape
    cache and its block path (many lines of one shape filed at once), with the cache filing
    line by line, and with the cache off."""
    from lrdoctor.io import textlog as tl
    from lrdoctor.io.records import RecordColumns

    class LineByLine(RecordColumns):
        def append_block(self, spans, lines):
            return False

    def read(sink):
        tl.parse_lines(lines, records=sink)
        cols = {k: (list(sink.rows_of[k]), [float(x) for x in sink.vals_of[k]]) for k in sink.rows_of}
        return sink.n, cols, dict(sink.decimals)

    blocks, by_line = read(RecordColumns()), read(LineByLine())
    saved = tl._BUILTIN_PARSERS
    tl._BUILTIN_PARSERS = []
    try:
        off = read(RecordColumns())
    finally:
        tl._BUILTIN_PARSERS = saved
    return blocks, by_line, off


def same_columns(a, b):
    def eq(xs, ys):
        return len(xs) == len(ys) and all(x == y or (x != x and y != y) for x, y in zip(xs, ys))

    return a[0] == b[0] and a[1].keys() == b[1].keys() and all(
        a[1][k][0] == b[1][k][0] and eq(a[1][k][1], b[1][k][1]) for k in a[1])


def block_path_agrees(lines) -> bool:
    """The block path files what the line-by-line path files, printed decimals included, and
    both file what the uncached parser does (whose decimals come from other evidence)."""
    blocks, by_line, off = columns_three(lines)
    return same_columns(blocks, by_line) and blocks[2] == by_line[2] and same_columns(blocks, off)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)


def real_text_logs() -> list[Path]:
    """Every text log of the benchmark that tests may read (a slice being measured blind is left out)."""
    from bench_logs import benchmark_files

    return [p for p in benchmark_files() if p.suffix in TEXT_SUFFIXES]


def same_records_with_and_without_cache(path: Path) -> str | None:
    """``path`` (as a string) when the shape cache changes its records or config, else None."""
    on, off = parse_both(_lines(path))
    return None if same_records(on, off) else str(path)


def block_path_agrees_on(path: Path) -> str | None:
    """``path`` (as a string) when the block path files other columns than the line-by-line path
    or the uncached parser, else None."""
    return None if block_path_agrees(_lines(path)) else str(path)


def on_both_cores(check, files: list[Path]) -> list[str]:
    """The files ``check`` reports, run over ``files`` in two spawned worker processes (spawn:
    the test process may hold torch's threads, which a fork would copy mid-state)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [bad for bad in pool.map(check, files, chunksize=64) if bad is not None]
