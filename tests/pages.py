"""What a reader of a published HTML report sees, checked the way a person would notice it.

``problems(path)`` parses the page as a browser does and lists what would look broken: markup
shown as text, tables without header cells, charts without alternative text, tracebacks and
library warnings. ``screenshot(path, png)`` renders the page in headless Chromium.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from bs4 import BeautifulSoup

MARKUP_AS_TEXT = re.compile(r"<\s*/?\s*(h[1-6]|p|div|table|thead|tbody|tr|th|td|style|script|br|a|img)\b[^>]*>", re.I)
MISSING_CELL = re.compile(r"nan|NaN|None|NaT|<NA>|inf|-inf")
WARNING_TEXT = re.compile(r"\b(\w*Warning: |Traceback \(most recent call last\)|ERROR! )")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def visible_text(soup: BeautifulSoup) -> str:
    body = soup.body or soup
    for hidden in body(["script", "style", "noscript", "template"]):
        hidden.decompose()
    return body.get_text("\n")


def problems(path: Path) -> list[str]:
    soup = BeautifulSoup(Path(path).read_text(encoding="utf-8"), features="html.parser")
    found = []
    title = soup.title.get_text(strip=True) if soup.title else ""
    if not title or title == "Notebook":
        found.append(f"a page without a real title: {title!r}")
    for block in soup.select("pre"):
        if not block.find_parent(class_="jp-InputArea"):  # shown code (--keep-code) may be monospace
            found.append(f"raw monospace output: {block.get_text()[:80]!r}")
    for link in soup.select("a[href]"):
        href = link["href"]
        if re.match(r"[a-z]+:", href):
            continue  # an external link is the reader's browser's business
        page, _, anchor = href.partition("#")
        target = Path(path).parent / page if page else Path(path)
        if not target.exists():
            found.append(f"a link to a missing page: {href!r}")
        elif anchor:
            other = BeautifulSoup(target.read_text(encoding="utf-8"), features="html.parser")
            if other.find(id=anchor) is None:
                found.append(f"a link to a missing section: {href!r}")
    for table in soup.select(".jp-OutputArea-output table"):
        if not table.find("caption") or not table.find("caption").get_text(strip=True):
            found.append(f"a table without a caption: {table.get_text(' ')[:80]!r}")
        if not table.find("th"):
            found.append(f"a table without header cells: {table.get_text(' ')[:80]!r}")
        for cell in table.find_all("td"):
            if MISSING_CELL.fullmatch(cell.get_text(" ").strip()):
                found.append(f"a raw missing value in a table cell: {cell.get_text().strip()!r} in "
                             f"{table.get_text(' ')[:60]!r}")
    for image in soup.select("img"):
        if not image.get("alt") or image["alt"].startswith("No description"):
            found.append("an image without alternative text")
    for chart in soup.select(".jp-OutputArea-output svg"):
        if not chart.get("aria-label"):
            found.append("a chart without alternative text")
    text = visible_text(soup)
    for match in MARKUP_AS_TEXT.finditer(text):
        found.append(f"markup shown as text: {match.group(0)[:60]!r}")
    for match in WARNING_TEXT.finditer(text):
        start = max(match.start() - 60, 0)
        found.append(f"a warning or traceback in the page: {text[start:match.end() + 60]!r}")
    return found


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def screenshot(page: Path, png: Path, profile: Path, height: int = 5000) -> Path:
    """The page as headless Chromium draws it, 1300 pixels wide."""
    done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                           f"--window-size=1300,{height}", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and png.exists() and png.stat().st_size > 10_000, done.stderr[-2000:]
    return png


def browse(start: Path, profile: Path) -> dict[str, list[str]]:
    """Open ``start`` in headless Chromium and every page it links to, as a reader clicking through
    would: each page's DOM as Chromium builds it, its title, and each link checked against the page
    it leads to (the file loads, the section exists). Returns {page: problems}."""
    def dom(page: Path) -> BeautifulSoup:
        done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                               page.resolve().as_uri()], capture_output=True, text=True, timeout=180)
        assert done.returncode == 0 and "<body" in done.stdout, done.stderr[-2000:]
        return BeautifulSoup(done.stdout, features="html.parser")

    seen: dict[Path, BeautifulSoup] = {}
    queue, found = [Path(start).resolve()], {}
    while queue:
        page = queue.pop()
        if page in seen:
            continue
        soup = seen[page] = dom(page)
        problems = []
        title = soup.title.get_text(strip=True) if soup.title else ""
        if not title or title == "Notebook":
            problems.append(f"title {title!r}")
        for link in soup.select("a[href]"):
            href = link["href"]
            if re.match(r"[a-z]+:", href):
                continue
            name, _, anchor = href.partition("#")
            target = (page.parent / name).resolve() if name else page
            if not target.exists():
                problems.append(f"link to a missing page {href!r}")
                continue
            if target not in seen:
                queue.append(target)
                seen_soup = None
            else:
                seen_soup = seen[target]
            if anchor:
                other = seen_soup or BeautifulSoup(target.read_text(encoding="utf-8"), features="html.parser")
                if other.find(id=anchor) is None:
                    problems.append(f"link to a missing section {href!r}")
        found[page.name] = problems
    return found
