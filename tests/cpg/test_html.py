"""`ttune cpg --format html`: one self-contained page whose graph data is the JSON export."""

from __future__ import annotations

import re

from ttune.cpg import extract
from ttune.cpg.batch import render
from ttune.cpg.export import to_json
from ttune.cpg.html import EDGE_CSS_COLOURS, page_data

SRC = "def f(x):\n    if x:\n        y = x + 1\n    else:\n        y = '</script>'\n    return y\n"


def test_page_draws_the_json_export():
    cpg = extract(SRC, "python")
    page = render(cpg, "html")
    assert page_data(page) == to_json(cpg)
    # Only the legend's edge types, each in its colour; the label with </script> did not end the
    # element.
    assert set(re.findall(r'value="([A-Z]+)"', page)) == {e.type for e in cpg.edges}
    assert page.count("</script>") == 4


def test_edge_filter_and_no_network_at_view_time():
    cpg = extract(SRC, "python")
    page = render(cpg, "html", {"CFG", "DDG"})
    assert {e["type"] for e in page_data(page)["edges"]} == {"CFG", "DDG"}
    assert page_data(page) == to_json(cpg, {"CFG", "DDG"})
    assert "default-src 'none'" in page  # the page may load nothing from anywhere
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert set(EDGE_CSS_COLOURS) == {"AST", "CFG", "CDG", "DDG", "CALL"}
