"""_ext/author_year_labels.py: the bibliography's labels read as the author-year citations in the text."""

import sys
from pathlib import Path

from pybtex.database import Entry, Person

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
from author_year_labels import AuthorYearLabelStyle, author_year_label  # noqa: E402


def _entry(key, authors, year="2013", title="A title"):
    entry = Entry("article", fields={"year": year, "title": title})
    entry.key = key
    entry.persons["author"] = [Person(a) for a in authors]
    return entry


def test_labels_name_one_two_or_the_first_of_many_authors():
    assert author_year_label(_entry("a", ["Blei, David M."], "2012")) == "Blei, 2012"
    assert author_year_label(_entry("b", ["Kingma, Diederik P.", "Welling, Max"])) == "Kingma and Welling, 2013"
    assert author_year_label(_entry("c", ["Baklazhenko, Nikita", "Conner, Miguel", "Vallmanya, David"], "2023")) \
        == "Baklazhenko et al., 2023"
    assert author_year_label(_entry("d", ["{LeCun}, Yann", "Cortes, Corinna", "Burges, Chris"], "1998")) \
        == "LeCun et al., 1998"


def test_labels_that_would_coincide_get_letters():
    entries = [_entry("x", ["Kingma, D.", "Welling, M."]), _entry("y", ["Kingma, D.", "Welling, M."]),
               _entry("z", ["Kingma, D.", "Welling, M."], "2019")]
    assert list(AuthorYearLabelStyle().format_labels(entries)) == [
        "Kingma and Welling, 2013a", "Kingma and Welling, 2013b", "Kingma and Welling, 2019"]
