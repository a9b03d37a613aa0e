"""The HTML of an executed notebook as a reader gets it: no code, a title, a bar of links to
the other reports, "On this page", charts inline as SVG, and no cell kept for nbval only."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import nbformat


def export_html(path: Path, keep_code: bool = False, data_name: str = "", as_of: str = "",
                engine: str = "") -> Path:
    """HTML beside the notebook: code hidden unless ``keep_code``, parameter cells removed.

    The page is titled "gapkit · <report> · <data name> · as of <date>" and opens with the bar of
    links to the overview (index.html) and the other reports; the nbval anchors (plain-text key
    numbers) are left out.

    The page keeps the notebook's own markup (headings, paragraphs, tables with header cells):
    text from the data is escaped where gapkit puts it into an output (tables, findings,
    sentences), not by escaping the whole page, which showed every heading as ``<h1 ...>``.
    Each chart gets alternative text from the section it belongs to.
    """
    import logging

    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config as TraitletsConfig

    settings = TraitletsConfig()
    # the plain-text key numbers nbval guards are for the regression tests, not for readers
    settings.TagRemovePreprocessor.remove_cell_tags = REMOVED_TAGS
    settings.TagRemovePreprocessor.enabled = True
    settings.HTMLExporter.exclude_input = not keep_code
    settings.HTMLExporter.exclude_input_prompt = True
    settings.HTMLExporter.exclude_output_prompt = True
    exporter = HTMLExporter(config=settings)
    exporter.register_preprocessor(TagRemovePreprocessor(config=settings), enabled=True)
    exporter.log.setLevel(logging.ERROR)  # its "alternative text is missing" warning: supplied below
    from gapkit.report._overview import REPORTS, navigation

    notebook = nbformat.read(path, as_version=4)
    label = dict(REPORTS).get(path.stem) or page_title(notebook, path)
    title = " · ".join(part for part in ("gapkit", label, data_name, f"as of {as_of}" if as_of else "") if part)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    page = BeautifulSoup(body, features="html.parser")
    if page.body is not None:
        __version__ = metadata.version("gapkit")
        run_line = " · ".join(part for part in (f"data: {data_name}" if data_name else "",
                                                f"as of {as_of}" if as_of else "",
                                                f"{engine} engine" if engine else "", f"gapkit {__version__}") if part)
        bar = BeautifulSoup(navigation(current=path.stem).replace(
            "<nav>", "<nav style='padding:8px 16px;border-bottom:1px solid #e4e7eb;font-family:system-ui,sans-serif'>")
            .replace("<a href", "<a style='margin-right:18px;color:#0b69a3;text-decoration:none' href")
            .replace("</nav>", f"<span style='float:right;color:#52606d;font-size:12px'>{html_escape(run_line)}</span>"
                               "</nav>"), features="html.parser")
        page.body.insert(0, bar)
        _contents(page)
    images = page.select(".jp-OutputArea-output img, .jp-OutputArea-output svg")
    for image, alt in zip(images, image_alt_texts(notebook)):
        if image.name == "img" and image.get("src", "").startswith("data:image/svg+xml;base64,"):
            image = _inline_svg(image, page)
        if image.name == "svg":
            image["role"], image["aria-label"] = "img", alt
        else:
            image["alt"] = alt
    target = path.with_suffix(".html")
    target.write_text(str(page), encoding="utf-8")
    return target


def _contents(page) -> None:
    """"On this page": links to the report's sections, under its title."""
    from bs4 import BeautifulSoup

    sections = [(h["id"], h.get_text(" ", strip=True).rstrip("¶").strip()) for h in page.find_all("h2")
                if h.get("id")]
    title = page.find("h1")
    if not sections or title is None:
        return
    links = " · ".join(f"<a href='#{html_escape(anchor)}' style='color:#0b69a3;text-decoration:none'>"
                       f"{html_escape(text)}</a>" for anchor, text in sections)
    box = BeautifulSoup(f"<p class='gapkit-contents' style='font-size:13px'>On this page: {links}</p>",
                        features="html.parser")
    title.insert_after(box)


def html_escape(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


def _inline_svg(image, page):
    """An <img> holding an SVG as a data URI, replaced by the SVG itself: its text can then be
    searched and read by screen readers, and it stays sharp at any zoom."""
    import base64
    import re

    from bs4 import BeautifulSoup

    markup = base64.b64decode(image["src"].split(",", 1)[1]).decode("utf-8")
    markup = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>", "", markup, flags=re.IGNORECASE)
    svg = BeautifulSoup(markup, features="html.parser").find("svg")
    if svg is None:
        return image
    image.replace_with(svg)
    return svg


HIDDEN_TAGS = ("parameters", "injected-parameters")
REMOVED_TAGS = (*HIDDEN_TAGS, "nbval-check-output", "hide-in-report")  # left out of the HTML


def page_title(notebook, path: Path) -> str:
    """The report's first heading ("1. Current state of post-sale follow-up"), else its file name."""
    import re

    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = re.search(r"^#\s+(.+)$", cell.source, flags=re.MULTILINE)
            if found:
                return found.group(1).strip()
    return path.stem.replace("_", " ")


def image_alt_texts(notebook) -> list[str]:
    """One description per image output, in page order: the cell's ``alt`` metadata, else the
    heading of the section the chart sits in and its place there."""
    import re

    alts, heading, count = [], notebook.metadata.get("title", "Chart"), 0
    for cell in notebook.cells:
        if set(cell.metadata.get("tags", [])) & set(REMOVED_TAGS):
            continue
        if cell.cell_type == "markdown":
            found = re.findall(r"^#+\s*(.+)$", cell.source, flags=re.MULTILINE)
            if found:
                heading, count = found[-1].strip(), 0
            continue
        for output in cell.get("outputs", []):
            if {"image/png", "image/svg+xml"} & set(output.get("data", {})):
                count += 1
                alts.append(cell.metadata.get("alt") or f"Chart {count} of the section \"{heading}\"")
    return alts
