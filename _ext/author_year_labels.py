"""Author-year labels in the bibliography, to match the author-year citations in the text.

``bibtex_reference_style: author_year`` makes sphinxcontrib-bibtex cite as "Baklazhenko et al.,
2023", but the bibliography's labels come from the formatting style, whose default (pybtex's
"alpha") gives "[BCVW23]": a reader could not match the two. This extension registers the
formatting style ``author_year``: pybtex's alpha style (its sorting and entry formatting) with
labels written as the text cites them ("Baklazhenko et al., 2023", "Kingma and Welling, 2013");
two labels that would coincide get "a", "b", ... after the year. Selected in ``_config.yml`` by
``bibtex_default_style: author_year``.
"""

from collections import Counter
from string import ascii_lowercase

from pybtex.plugin import register_plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person) -> str:
    return " ".join(person.last_names).replace("{", "").replace("}", "")


def author_year_label(entry) -> str:
    """"Surname, year", "Surname and Surname, year" or "Surname et al., year" for a pybtex entry."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(p) for p in people]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [author_year_label(entry) for entry in sorted_entries]
        total, seen = Counter(labels), Counter()
        for label in labels:
            if total[label] > 1:
                seen[label] += 1
                label = f"{label}{ascii_lowercase[seen[label] - 1]}"
            yield label


class AuthorYearStyle(AlphaStyle):
    default_label_style = AuthorYearLabelStyle


def setup(app):
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
