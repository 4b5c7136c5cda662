"""Rendered map parts stay text: branca must not compile them as templates again.

branca 0.8 renders an element's ``header``/``html``/``script`` macros and wraps
each OUTPUT in ``Element(text)``, whose constructor compiles that text as a Jinja
template that the page render then renders a second time (folium's ``Popup``
does the same with its whole output). Two faults follow:

- **template injection**: text from data is evaluated on the server. A grid
  named ``{{ 6*7 }}`` was drawn as "42"; with ``this`` in the template context,
  ``{{ this.__init__.__globals__ ... }}`` reaches Python's builtins. Escaping
  for HTML does not help: braces are not HTML.
- **time**: a layer's whole GeoJSON (megabytes on a township map) is lexed and
  parsed as a template: about half of the coverage map's render time.

``install()`` replaces those two render methods with the same steps that add a
``RenderedText`` instead, which answers its text as it is. ``maps.render.page``
installs it on import, so every map GridGIS renders goes through it;
``tests/maps/test_literal_render.py`` checks a map renders byte-identical (ids
aside) to the library's own renderer, so an upgrade of branca/folium that
changes these methods is noticed.
"""

from __future__ import annotations

from typing import Any

from branca.element import Element, Figure, MacroElement
from folium.map import Popup


class RenderedText(Element):
    """Text already rendered: answered as it is, never compiled or rendered again."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        """The text, whatever braces it holds."""
        return self._text


def _figure(element: Element) -> Figure:
    figure = element.get_root()
    assert isinstance(figure, Figure), (
        "You cannot render this Element if it is not in a Figure."
    )
    return figure


def _macro_render(self: MacroElement, **kwargs: Any) -> None:
    """``MacroElement.render`` of branca 0.8.2, its outputs kept as text."""
    figure = _figure(self)
    macros = self._template.module.__dict__
    for part, target in (
        ("header", figure.header),
        ("html", figure.html),
        ("script", figure.script),
    ):
        macro = macros.get(part)
        if macro is not None:
            target.add_child(RenderedText(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


def _popup_render(self: Popup, **kwargs: Any) -> None:
    """``folium.Popup.render`` of folium 0.20, its output kept as text."""
    for child in self._children.values():
        child.render(**kwargs)
    _figure(self).script.add_child(
        RenderedText(self._template.render(this=self, kwargs=kwargs)),
        name=self.get_name(),
    )


ORIGINAL_MACRO, ORIGINAL_POPUP = MacroElement.render, Popup.render


def install() -> None:
    """Route branca's and folium's renders through ``RenderedText`` (idempotent)."""
    MacroElement.render = _macro_render  # type: ignore[method-assign]
    Popup.render = _popup_render  # type: ignore[method-assign]


def uninstall() -> None:
    """The libraries' own renderers again (the equivalence test compares them)."""
    MacroElement.render = ORIGINAL_MACRO  # type: ignore[method-assign]
    Popup.render = ORIGINAL_POPUP  # type: ignore[method-assign]
