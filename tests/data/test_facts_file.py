"""Reading facts from a CSV/TSV file: the format, the shipped capitals, every error."""

from __future__ import annotations

import pytest

from minigpt.data import (MAX_FACTS_FILE_BYTES, FactPrompt, load_capitals, parse_facts_table,
                          read_facts_file)
from minigpt.data import facts_file

HEADER = "subject,prompt,answer,paraphrase,paraphrase\n"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_csv_with_paraphrases_quotes_and_blank_lines(tmp_path):
    path = write(tmp_path, "facts.csv", HEADER
                 + "France,The capital of France is,Paris,France's capital is,\n"
                 + "\n"
                 + ' Japan , "Japan, an island nation, has as capital" , Tokyo ,,\n')
    facts = read_facts_file(path)
    assert facts == [
        FactPrompt("The capital of France is", "France", "Paris", ("France's capital is",)),
        FactPrompt("Japan, an island nation, has as capital", "Japan", "Tokyo"),
    ]


def test_tsv_columns_in_any_order_and_numbered_paraphrases(tmp_path):
    text = ("Answer\tparaphrase_2\tSubject\tprompt\tparaphrase1\n"
            "Paris\tThe capital city of France is\tFrance\tThe capital of France is\t"
            "France's capital is\n")
    for name in ("facts.tsv", "facts.txt"):  # by suffix, or sniffed from the header
        (fact,) = read_facts_file(write(tmp_path, name, text))
        assert fact.paraphrases == ("The capital city of France is", "France's capital is")
        assert (fact.subject, fact.answer) == ("France", "Paris")


def test_utf8_with_bom_and_non_ascii(tmp_path):
    path = write(tmp_path, "facts.csv", "\ufeffsubject,prompt,answer\nIceland,La capitale "
                 "de l'Islande (Iceland) est,Reykjavík\n")
    assert read_facts_file(path)[0].answer == "Reykjavík"


@pytest.mark.parametrize("text, message", [
    ("subject,prompt\nFrance,The capital of France is\n",
     r"line 1: the header must name the columns subject, prompt, answer; missing \['answer'\]"),
    ("subject,prompt,answer,country\n", r"line 1, column 4: unknown column 'country'"),
    ("subject,prompt,answer,prompt\n", r"line 1, column 4: the column 'prompt' appears twice"),
    ("", r"line 1: expected the header"),
    (HEADER, "a header but no facts"),
    (HEADER + "France,The capital of France is,Paris\nSpain,The capital of France is,Madrid\n",
     r"line 3, column 2 \(prompt\): the subject 'Spain' does not occur"),
    (HEADER + "France,The capital of France is,Paris,Its capital is\n",
     r"line 2, column 4 \(paraphrase\): the subject 'France' does not occur in 'Its capital is'"),
    (HEADER + "France,The capital of France is,\n",
     r"line 2, column 3 \(answer\): must not be empty"),
    (HEADER + ",The capital of France is,Paris\n", r"line 2, column 1 \(subject\): must not be"),
    (HEADER + "France,The capital of France is,Paris\n\nFrance,The capital of France is,Lyon\n",
     r"line 4, column 2 \(prompt\): the prompt 'The capital of France is' already appears on "
     r"line 2"),
    (HEADER + "France,The capital of France is,Paris,a,b,c\n",
     r"line 2: 6 cells but the header has 5 columns"),
])
def test_errors_name_the_line_and_column(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_facts_file(write(tmp_path, "facts.csv", text))


def test_line_numbers_count_quoted_newlines(tmp_path):
    text = HEADER + '"France","The capital\nof France is",Paris\nSpain,Where is it,Madrid\n'
    with pytest.raises(ValueError, match="line 4, column 2"):
        read_facts_file(write(tmp_path, "facts.csv", text))


def test_not_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "facts.csv", (HEADER + "France,The capital of France is,Paris\n"
                                         + "Iceland,The capital of Iceland is,Reykjavík\n"),
                 encoding="latin-1")
    with pytest.raises(ValueError, match=r"line 3: not UTF-8 text \(byte 0xed"):
        read_facts_file(path)


def test_too_large_and_missing(tmp_path, monkeypatch):
    path = write(tmp_path, "facts.csv", HEADER + "France,The capital of France is,Paris\n")
    monkeypatch.setattr(facts_file, "MAX_FACTS_FILE_BYTES", 10)
    with pytest.raises(ValueError, match="a facts file may hold at most 10 bytes"):
        read_facts_file(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_facts_file(tmp_path / "nope.csv")
    assert MAX_FACTS_FILE_BYTES >= 2**20


def test_parse_checks_its_arguments():
    with pytest.raises(ValueError, match="delimiter must be"):
        parse_facts_table("subject;prompt;answer\n", delimiter=";")
    with pytest.raises(TypeError, match="text must be a str"):
        parse_facts_table(b"subject,prompt,answer\n")


def test_shipped_capitals():
    facts = load_capitals()
    assert len(facts) == 60
    assert len({f.subject for f in facts}) == 60 and len({f.answer for f in facts}) == 60
    by_country = {f.subject: f.answer for f in facts}
    for country, capital in [("France", "Paris"), ("Japan", "Tokyo"), ("Canada", "Ottawa"),
                             ("Australia", "Canberra"), ("South Korea", "Seoul"),
                             ("Argentina", "Buenos Aires"), ("Ethiopia", "Addis Ababa")]:
        assert by_country[country] == capital
    assert all(len(f.paraphrases) == 2 for f in facts)
    assert any(" " in f.subject for f in facts) and any(" " in f.answer for f in facts)
    assert all(f.prompt == f"The capital of {f.subject} is" for f in facts)
