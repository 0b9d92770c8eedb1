"""
The layout is the architecture: these contracts keep it so (docs/architecture.md draws the layers).

Read from the source with ``tests/import_graph.py``: imports that only type checkers see are left
out, every other import counts, at module level or inside a function.
"""

from __future__ import annotations

import pytest

from tests.import_graph import cycles, graph

EDGES = graph()
APP = "sessions_app"


def imports_of(package: str) -> dict[str, set[str]]:
    """What the modules of ``package`` import, by module."""
    return {name: targets for name, targets in EDGES.items() if name == package or name.startswith(package + ".")}


def offending(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """Modules of ``package`` that import anything under one of ``forbidden`` (dotted prefixes)."""
    found = {}
    for name, targets in imports_of(package).items():
        bad = sorted(t for t in targets if any(t == f or t.startswith(f + ".") for f in forbidden))
        if bad:
            found[name] = bad
    return found


def test_no_module_imports_its_way_back_to_itself() -> None:
    assert cycles(EDGES) == []


def test_the_graph_sees_the_imports_it_judges() -> None:
    """A contract over an empty or misread graph would pass for nothing: check a few known edges."""
    assert f"{APP}.services.admission" in EDGES[f"{APP}.signaling.consumer"]
    assert f"{APP}.sfu.room" in EDGES[f"{APP}.sfu.registry"]
    assert "django" in {target.split(".")[0] for target in EDGES[f"{APP}.models"]}
    assert len(imports_of(f"{APP}.sfu")) > 10


def test_the_sfu_is_django_free_and_knows_nothing_of_the_app() -> None:
    """sessions_app/sfu runs in a worker without Django: asyncio, aiortc and itself."""
    others = tuple(
        f"{APP}.{package}"
        for package in ("models", "services", "signaling", "api", "web", "admin", "cluster", "errors")
    )
    assert offending(f"{APP}.sfu", ("django", "channels", *others)) == {}


def test_the_composer_is_django_free_and_knows_nothing_of_the_app() -> None:
    """sessions_app/composer runs in a worker process without Django: PyAV, numpy and itself."""
    others = tuple(
        f"{APP}.{package}"
        for package in ("models", "services", "signaling", "api", "web", "admin", "cluster", "errors", "sfu")
    )
    assert "av" in EDGES[f"{APP}.composer.output"]
    assert offending(f"{APP}.composer", ("django", "channels", "aiortc", *others)) == {}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # Services are called by transports; they never call back up (no sockets, no requests).
        ("services", ("signaling", "api", "web", "admin")),
        # The two transports share services, never each other.
        ("api", ("signaling",)),
        ("signaling", ("api", "web", "admin")),
        # Pages are a transport of their own: they share services and the core with the API, not its code.
        ("web", ("api", "signaling.consumer")),
        # The cluster is the SFU's other side of the channel layer: no transport, no service.
        ("cluster", ("signaling", "api", "web", "admin", "services")),
    ],
)
def test_layers_only_import_downwards(package: str, forbidden: tuple[str, ...]) -> None:
    assert offending(f"{APP}.{package}", tuple(f"{APP}.{f}" for f in forbidden)) == {}


def test_services_speak_no_transport() -> None:
    """No HTTP request or response, no websocket consumer in a service: what they return is data."""
    assert offending(f"{APP}.services", ("django.http", "django.shortcuts", "channels.generic")) == {}


def test_the_core_knows_no_layer_above_it() -> None:
    """Models, tokens, links and the vocabulary are what every layer builds on."""
    core = ("models", "errors", "tokens", "links", "names", "hosting", "turn", "restrictions", "logs", "signals",
            "recording_files", "recording_storage")  # fmt: skip
    above = tuple(f"{APP}.{package}" for package in ("services", "signaling", "api", "web", "admin", "sfu", "cluster",
                                                     "composer"))  # fmt: skip
    for module in core:
        assert offending(f"{APP}.{module}", above) == {}, module
