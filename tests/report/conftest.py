"""A small simulated shop analysed once for the report tests, and HTML checking helpers.

The shop: 1,500 simulated customers (a Shopify export) ingested into a workspace, analysed with
and without a marketing spend file.  The helpers (fixture ``html_tools``): a small HTML tree
(stdlib ``html.parser``) and :func:`loading_references`, everything through which a page would
fetch a resource from elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from valuecast.datasets.demo_shop import generate_demo_shop
from valuecast.io import read_exports
from valuecast.jobs.report import analyse_for_report
from valuecast.outputs.report import write_report
from valuecast.store import Workspace

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
# attributes through which a browser fetches something
LOADING_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "poster", "data",
                      "background", "xlink:href", "manifest", "ping", "cite", "longdesc"}  # fmt: skip
EXTERNAL = re.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.-]*:)?//")  # http://, https://, //host, ftp://
CSS_IMPORT = re.compile(r"(?i)@import")
CSS_URL = re.compile(r"(?i)url\(\s*(['\"]?)([^)'\"]*)\1\s*\)")


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(child.all_text() for child in self.children)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str):
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if cls is not None and cls not in node.attrs.get("class", "").split():
                continue
            if any(
                node.attrs.get(name.replace("_", "-")) != value for name, value in attrs.items()
            ):
                continue
            yield node


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].text.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _css_references(css: str) -> list[str]:
    found = []
    if CSS_IMPORT.search(css):
        found.append("@import")
    for _, target in CSS_URL.findall(css):
        if not target.strip().startswith("#") and not target.strip().startswith("data:"):
            found.append(f"url({target})")
    return found


def loading_references(html: str) -> list[str]:
    """Everything in the page through which a browser would fetch a resource from elsewhere.

    Looks at the markup, not at the text of scripts (the inlined plotly.js names URLs in its
    code and comments without loading them): every loading attribute with a scheme or ``//``,
    ``<script src>``, ``<link>`` to anything but an in-page anchor, and ``@import`` or a
    ``url(...)`` that is not ``#id`` or ``data:`` in ``<style>`` elements and ``style=``
    attributes.
    """
    found = []
    for node in parse(html).iter():
        for name, value in node.attrs.items():
            if name in LOADING_ATTRIBUTES and EXTERNAL.match(value):
                found.append(f"<{node.tag} {name}={value!r}>")
            if name == "style":
                found += [f"<{node.tag} style> {ref}" for ref in _css_references(value)]
        if node.tag == "script" and "src" in node.attrs:
            found.append(f"<script src={node.attrs['src']!r}>")
        if node.tag == "link" and not node.attrs.get("href", "").startswith("#"):
            found.append(f"<link href={node.attrs.get('href')!r}>")
        if node.tag == "style":
            found += [f"<style> {ref}" for ref in _css_references(node.all_text())]
    return found


@pytest.fixture(scope="session")
def html_tools():
    return SimpleNamespace(parse=parse, loading_references=loading_references, Node=Node)


SPEND_CHANNELS = {"google": 400.0, "instagram": 250.0, "facebook ads": 300.0}


@pytest.fixture(scope="session")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-shop")
    export = folder / "orders_export.csv"
    info = generate_demo_shop(export, customers=1500, seed=4)
    workspace = folder / "shop.duckdb"
    with Workspace(workspace) as ws:
        ws.ingest(read_exports([export]))
    spend = folder / "spend.csv"
    months = [f"{2024 + (6 + k) // 12}-{(6 + k) % 12 + 1:02d}" for k in range(24)]
    spend.write_text(
        "month,channel,spend\n"
        + "".join(f"{m},{c},{v}\n" for m in months for c, v in SPEND_CHANNELS.items())
    )
    with Workspace(workspace, read_only=True) as ws:
        with_spend = analyse_for_report(ws, spend=spend)
        without_spend = analyse_for_report(ws)
    report = write_report(folder / "report.html", *with_spend)
    return SimpleNamespace(
        folder=folder,
        export=export,
        info=info,
        workspace=workspace,
        spend=spend,
        with_spend=with_spend,
        without_spend=without_spend,
        report=report,
    )
