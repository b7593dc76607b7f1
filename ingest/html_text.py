"""HTML reduced to what a reader sees, before any parser partitions it.

Text a browser does not show is a way to slip instructions or noise into the index, so these
are dropped with all they hold: comments, <script>, <style>, <template>, <noscript>; elements
with the `hidden` attribute or aria-hidden="true"; and elements whose style says
display:none, visibility:hidden or collapse, a zero font-size, zero opacity, transparent
text, or a text colour (`color`, or <font color>) with no contrast against the background
(the nearest one declared on the element or above it, white by default).

Styles come from the `style` attribute and from <style> rules whose selectors are simple: a
tag, .class, #id or a combination (`p.note#x`), in comma lists; later rules win, inline
style over all. Not handled: other selectors (descendant, attribute, pseudo-class), rules in
@media and other @-blocks, linked stylesheets, specificity, text moved off screen (position,
text-indent, clip) or in zero-size boxes, and colours other than #hex, rgb()/rgba() and the
common names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from ingest.html_colors import Color, contrast, parse_color

_ALWAYS_HIDDEN = {"script", "style", "template", "noscript"}
_PROPERTIES = {"display", "visibility", "font-size", "opacity", "color", "background-color",
               "background"}
_SIMPLE_SELECTOR = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)?((?:[.#][\w-]+)*)")
_PART = re.compile(r"([.#])([\w-]+)")
_ZERO_SIZE = re.compile(r"[+]?0*\.?0*(px|pt|em|rem|%|ex|ch|vw|vh|pc|mm|cm|in)?")
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_WHITE = Color(255, 255, 255, 1.0)
_MIN_CONTRAST = 1.2  # #eee on white is 1.16: unreadable; #ccc on white is 1.6


@dataclass(frozen=True)
class VisibleHtml:
    """The page with its hidden elements removed, and its <title> (spaces collapsed)."""

    html: str
    title: str | None


@dataclass(frozen=True)
class _Selector:
    tag: str | None
    classes: frozenset[str]
    ident: str | None


_Rule = tuple[int, _Selector, dict[str, str]]  # (order in the page, selector, declarations)


def visible_html(text: str) -> VisibleHtml:
    """`text` (an HTML page) without what a browser would not show; see the module doc."""
    if not text.strip():
        return VisibleHtml("", None)
    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        root = lxml_html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):  # nothing but comments or markup
        return VisibleHtml("", None)
    title_element = root.find(".//title")
    title = " ".join(title_element.text_content().split()) if title_element is not None else ""
    rules = _RuleIndex(root)
    hidden = _hidden_elements(root, rules)
    if root in hidden:
        return VisibleHtml("", title or None)
    for element in hidden:
        element.drop_tree()  # keeps the text that follows the element
    return VisibleHtml(lxml_html.tostring(root, encoding="unicode"), title or None)


class _RuleIndex:
    """The simple rules of the page's <style> blocks, looked up by tag, class and id."""

    def __init__(self, root: lxml_html.HtmlElement) -> None:
        self._by_key: dict[str, list[_Rule]] = {}
        order = 0
        for style in root.iter("style"):
            for selector, declarations in _style_rules(style.text or ""):
                order += 1
                key = f"#{selector.ident}" if selector.ident else (
                    f".{min(selector.classes)}" if selector.classes else f"<{selector.tag}")
                self._by_key.setdefault(key, []).append((order, selector, declarations))

    def style(self, element: lxml_html.HtmlElement) -> dict[str, str]:
        """The element's declared style: matching rules in page order, then its own."""
        if not self._by_key and not element.get("style"):
            return {}
        tag = str(element.tag).lower()
        classes = set(element.get("class", "").split())
        ident = element.get("id")
        keys = [f"<{tag}", *(f".{c}" for c in classes), *([f"#{ident}"] if ident else [])]
        matched = [rule for key in keys for rule in self._by_key.get(key, [])
                   if _matches(rule[1], tag, classes, ident)]
        style: dict[str, str] = {}
        for _, _, declarations in sorted(matched, key=lambda rule: rule[0]):
            style.update(declarations)
        style.update(_declarations(element.get("style", "")))
        return style


def _matches(selector: _Selector, tag: str, classes: set[str], ident: str | None) -> bool:
    return ((selector.tag is None or selector.tag == tag) and selector.classes <= classes
            and (selector.ident is None or selector.ident == ident))


def _hidden_elements(
    root: lxml_html.HtmlElement, rules: _RuleIndex
) -> list[lxml_html.HtmlElement]:
    """The outermost hidden elements, in document order (walked without recursion)."""
    hidden: list[lxml_html.HtmlElement] = []
    stack: list[tuple[lxml_html.HtmlElement, Color]] = [(root, _WHITE)]
    while stack:
        element, background = stack.pop()
        if not isinstance(element.tag, str):
            continue
        style = rules.style(element)
        if _is_hidden(element, style, background):
            hidden.append(element)
            continue
        own = _background(element, style)
        inner = own if own is not None else background
        stack.extend((child, inner) for child in reversed(element))
    return hidden


def _is_hidden(element: lxml_html.HtmlElement, style: dict[str, str], background: Color) -> bool:
    if str(element.tag).lower() in _ALWAYS_HIDDEN or element.get("hidden") is not None:
        return True
    if element.get("aria-hidden", "").strip().lower() == "true":
        return True
    if style.get("display") == "none" or style.get("visibility") in ("hidden", "collapse"):
        return True
    if "font-size" in style and _ZERO_SIZE.fullmatch(style["font-size"]):
        return True
    if _is_zero(style.get("opacity", "")):
        return True
    color = parse_color(style.get("color") or element.get("color") or "")
    if color is None:
        return False
    own = _background(element, style)
    return color.alpha == 0 or contrast(color, own or background) < _MIN_CONTRAST


def _background(element: lxml_html.HtmlElement, style: dict[str, str]) -> Color | None:
    """The opaque background colour the element declares itself, if any."""
    candidates = [style.get("background-color", ""), *style.get("background", "").split(),
                  element.get("bgcolor") or ""]
    for value in candidates:
        color = parse_color(value)
        if color is not None and color.alpha > 0:
            return color
    return None


def _is_zero(value: str) -> bool:
    try:
        return float(value.rstrip("%")) <= 0.0 if value else False
    except ValueError:
        return False


def _style_rules(css: str) -> list[tuple[_Selector, dict[str, str]]]:
    """The rules of a style sheet with simple selectors only, @-blocks left out."""
    css = _without_at_rules(re.sub(r"/\*.*?\*/", "", css, flags=re.S))
    rules = []
    for match in _RULE.finditer(css):
        declarations = _declarations(match.group(2))
        if not declarations:
            continue
        for text in match.group(1).split(","):
            selector = _selector(text.strip())
            if selector is not None:
                rules.append((selector, declarations))
    return rules


def _selector(text: str) -> _Selector | None:
    match = _SIMPLE_SELECTOR.fullmatch(text)
    if not text or match is None:
        return None
    parts = _PART.findall(match.group(2))
    idents = [name for kind, name in parts if kind == "#"]
    if len(idents) > 1:
        return None
    classes = frozenset(name for kind, name in parts if kind == ".")
    return _Selector((match.group(1) or "").lower() or None, classes,
                     idents[0] if idents else None)


def _without_at_rules(css: str) -> str:
    """The style sheet without its @-rules (@media blocks apply only sometimes)."""
    kept: list[str] = []
    position = 0
    while (at := css.find("@", position)) != -1:
        kept.append(css[position:at])
        stop = re.compile(r"[{;]").search(css, at)
        if stop is None:
            return "".join(kept)
        position = stop.end() if stop.group() == ";" else _block_end(css, stop.start())
    kept.append(css[position:])
    return "".join(kept)


def _block_end(css: str, opening: int) -> int:
    """The index after the brace closing the block opened at `opening` (or the end)."""
    depth = 0
    for brace in re.compile(r"[{}]").finditer(css, opening):
        depth += 1 if brace.group() == "{" else -1
        if depth == 0:
            return brace.end()
    return len(css)


def _declarations(text: str) -> dict[str, str]:
    """The declarations that can hide text, names and values lower-cased, !important off."""
    declarations = {}
    for declaration in text.split(";"):
        name, _, value = declaration.partition(":")
        name = name.strip().lower()
        if name in _PROPERTIES and value.strip():
            declarations[name] = value.lower().replace("!important", "").strip()
    return declarations
