"""Your own facts from a file: a CSV or TSV table of subject, prompt and answer.

The format, by example::

    subject,prompt,answer,paraphrase,paraphrase
    France,The capital of France is,Paris,France's capital is,The capital city of France is
    South Korea,The capital of South Korea is,Seoul,South Korea's capital is,
    Ethiopia,The capital of Ethiopia is,Addis Ababa,,

* The first line is the header. It names the columns ``subject``, ``prompt`` and
  ``answer`` (in any order, case-insensitive) and any number of paraphrase columns, each
  named ``paraphrase`` (repeated) or numbered ``paraphrase1``, ``paraphrase_2``, ...
  No other column names are allowed.
* Every other line is one fact, :class:`~minigpt.data.FactPrompt` ``(prompt, subject,
  answer, paraphrases)``: the prompt must contain the subject; the answer is its
  continuation (a space is put between them, see :mod:`minigpt.data.fact_prompt`).
  Empty paraphrase cells are skipped, so facts may have different numbers of them.
* Whitespace around a cell is removed (also before a quoted cell); blank lines are
  skipped; cells holding the delimiter are quoted as usual in CSV
  (``"Washington, D.C."``).
* The delimiter is a tab for ``.tsv`` and ``.tab`` files, a comma for ``.csv``; for
  any other name, a tab if the header line holds one, else a comma.
* The file is UTF-8 (a byte-order mark is allowed), at most :data:`MAX_FACTS_FILE_BYTES`.
* No prompt may appear twice: the same question with two answers is a contradiction, and
  with the same answer a duplicate.

Every error names the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import os
import re
from importlib import resources

from .fact_prompt import FactPrompt

CAPITALS_FILE = "capitals.csv"
REQUIRED_COLUMNS = ("subject", "prompt", "answer")
PARAPHRASE_RE = re.compile(r"paraphrase(_?\d+)?")
MAX_FACTS_FILE_BYTES = 16 * 2**20  # a facts file larger than 16 MiB is refused
TAB_SUFFIXES = (".tsv", ".tab")
CSV_SUFFIXES = (".csv",)


def _delimiter(name: str, text: str) -> str:
    """Tab or comma: by the file name's suffix, else by the header line."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix in TAB_SUFFIXES:
        return "\t"
    if suffix in CSV_SUFFIXES:
        return ","
    return "\t" if "\t" in text.split("\n", 1)[0] else ","


def _columns(header: list[str], where: str) -> tuple[dict[str, int], list[int]]:
    """The index of each required column and of every paraphrase column."""
    names = [h.strip().lower() for h in header]
    required: dict[str, int] = {}
    paraphrases: list[int] = []
    for j, name in enumerate(names):
        if name in REQUIRED_COLUMNS:
            if name in required:
                raise ValueError(f"{where} line 1, column {j + 1}: the column {name!r} appears "
                                 f"twice")
            required[name] = j
        elif PARAPHRASE_RE.fullmatch(name):
            paraphrases.append(j)
        else:
            raise ValueError(f"{where} line 1, column {j + 1}: unknown column {header[j]!r}; "
                             f"expected {', '.join(REQUIRED_COLUMNS)} and optional "
                             f"'paraphrase' columns")
    missing = [c for c in REQUIRED_COLUMNS if c not in required]
    if missing:
        raise ValueError(f"{where} line 1: the header must name the columns "
                         f"{', '.join(REQUIRED_COLUMNS)}; missing {missing}, got {header}")
    return required, paraphrases


def parse_facts_table(text: str, delimiter: str = ",", source: str = "<text>"
                      ) -> list[FactPrompt]:
    """Read facts from the text of a CSV/TSV table (the format of :func:`read_facts_file`).

    Parameters
    ----------
    text : str
        The table, header first.
    delimiter : {",", "\\t"}
    source : str
        How error messages name the table (a file name).

    Returns
    -------
    list of FactPrompt
        In table order.

    Raises
    ------
    ValueError
        For a bad header, a row with more cells than the header, an empty subject, prompt
        or answer, a subject that the prompt or a paraphrase does not contain, a repeated
        prompt, or no rows; the message names the line and the column.

    Examples
    --------
    >>> table = "subject\\tprompt\\tanswer\\nFrance\\tThe capital of France is\\tParis\\n"
    >>> parse_facts_table(table, delimiter="\\t")
    [FactPrompt(prompt='The capital of France is', subject='France', answer='Paris', paraphrases=())]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if delimiter not in (",", "\t"):
        raise ValueError(f"delimiter must be ',' or '\\t', got {delimiter!r}")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    header = next(reader, None)
    if not header:
        raise ValueError(f"{source} line 1: expected the header "
                         f"{delimiter.join(REQUIRED_COLUMNS)}, got an empty line")
    required, para_cols = _columns(header, source)
    facts: list[FactPrompt] = []
    seen: dict[str, int] = {}
    while True:
        start = reader.line_num + 1  # the line this row starts on
        row = next(reader, None)
        if row is None:
            break
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        where = f"{source} line {start}"
        if len(row) > len(header):
            raise ValueError(f"{where}: {len(row)} cells but the header has {len(header)} "
                             f"columns")
        cells = [c.strip() for c in row] + [""] * (len(header) - len(row))
        for name in REQUIRED_COLUMNS:
            if not cells[required[name]]:
                raise ValueError(f"{where}, column {required[name] + 1} ({name}): must not "
                                 f"be empty")
        subject, prompt, answer = (cells[required[c]] for c in REQUIRED_COLUMNS)
        paraphrases = [(j, cells[j]) for j in para_cols if cells[j]]
        for j, text_j in [(required["prompt"], prompt)] + paraphrases:
            if subject not in text_j:
                raise ValueError(f"{where}, column {j + 1} ({header[j].strip()}): the subject "
                                 f"{subject!r} does not occur in {text_j!r}")
        if prompt in seen:
            raise ValueError(f"{where}, column {required['prompt'] + 1} (prompt): the prompt "
                             f"{prompt!r} already appears on line {seen[prompt]}")
        seen[prompt] = start
        facts.append(FactPrompt(prompt, subject, answer, tuple(p for _, p in paraphrases)))
    if not facts:
        raise ValueError(f"{source}: a header but no facts")
    return facts


def read_facts_file(path: str | os.PathLike) -> list[FactPrompt]:
    """Read your facts from a CSV or TSV file (format: :mod:`minigpt.data.facts_file`).

    Parameters
    ----------
    path : path
        A ``.csv`` or ``.tsv`` file (or another name: the delimiter is then guessed from
        the header line).

    Returns
    -------
    list of FactPrompt
        In file order.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is larger than :data:`MAX_FACTS_FILE_BYTES`, is not UTF-8 (the message
        names the line), or breaks the format (see :func:`parse_facts_table`).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "mine.csv")
    >>> with open(path, "w", encoding="utf-8") as f:
    ...     _ = f.write("subject,prompt,answer,paraphrase\\n"
    ...                 "Japan,The capital of Japan is,Tokyo,Japan's capital is\\n")
    >>> read_facts_file(path)[0].paraphrases
    ("Japan's capital is",)
    >>> import shutil; shutil.rmtree(os.path.dirname(path))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"facts file {path!r} does not exist")
    size = os.path.getsize(path)
    if size > MAX_FACTS_FILE_BYTES:
        raise ValueError(f"{path} is {size:,} bytes; a facts file may hold at most "
                         f"{MAX_FACTS_FILE_BYTES:,} bytes")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise ValueError(f"{path} line {line}: not UTF-8 text (byte {raw[err.start]:#04x} at "
                         f"offset {err.start}); save the file as UTF-8") from None
    return parse_facts_table(text, _delimiter(path, text), source=path)


def load_capitals() -> list[FactPrompt]:
    """Sixty countries and their capitals, shipped with minigpt (``capitals.csv``).

    Every fact asks ``"The capital of <country> is"`` with two paraphrases
    (``"<country>'s capital is"``, ``"The capital city of <country> is"``). Some subjects
    (``"South Korea"``) and answers (``"Buenos Aires"``) are several words.

    Returns
    -------
    list of FactPrompt

    Examples
    --------
    >>> facts = load_capitals()
    >>> len(facts), facts[0].sentence
    (60, 'The capital of France is Paris')
    """
    text = resources.files(__package__).joinpath(CAPITALS_FILE).read_text(encoding="utf-8")
    return parse_facts_table(text, ",", source=CAPITALS_FILE)
