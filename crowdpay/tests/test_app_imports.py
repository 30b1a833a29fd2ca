"""The apps' import graph, read from their source (every `import`, at the top or inside a function):
the apps are layers, and an app imports only the apps below it, so there is no cycle between them
and none needs another's internals to load or to be understood. From the top:

- `pods` (CrowdPods): groups of members paying into one wallet, their goals and outflows; runs its
  outflows as sagas and tells its members through the webhooks.
- `sagas`: funding, withdrawals and transfers as sagas; screens with compliance, moves money with
  the ledger, tells the owner through the webhooks (`crowdpay.webhooks.outbox.owner_event`).
- `webhooks` (`crowdpay.webhooks`): the outbox and its delivery. It imports the ledger and nothing
  above it: the apps that report a change write its message themselves, and the ledger's wallet
  status changes reach it through `wallets.signals`.
- `compliance`: KYC, risk, velocity limits, freezes. An officer's decision on a saga in review goes
  through `compliance.operations`, which the sagas app registers at start-up.
- `wallets` (the ledger): imports no app above it. The FX rates it quotes from come through
  `wallets.fx.rate_source` (registered by sagas), a wallet's own outflow limit through
  `wallets.limits` (compliance), the balance monitors' messages through `wallets.monitors`
  (webhooks), its status changes go out as `wallets.signals`.
- `crowdpay`, the project package: what every app shares (errors, the gateways' HTTP plumbing, the
  API's inputs and problems, the metrics registry, queues). Each app registers its own scrape-time
  metrics with it (`crowdpay.metrics.collector_register`).
Tests are left out: they may drive any app. So are two layers above all the apps:
- the admin layer: the admin modules (`admin.py`, `admin_*.py`) and the modules only they import
  (the back-office search): the back-office pages display every app's rows, and Django's admin
  loads them once every app is ready. A module a service, selector or task imports is never in it;
- the project's composition (`COMPOSITION`): the settings, which name every app, the demo data and
  its command, and the OpenAPI document's webhooks (named by the settings), which describe every
  app's payloads.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# An app's label by the dotted prefix of its modules (longest first: the sub-apps are apps of their own).
APPS = {
    "wallets.pods": "pods",
    "crowdpay.webhooks": "webhooks",
    "wallets": "wallets",
    "sagas": "sagas",
    "compliance": "compliance",
    "crowdpay": "crowdpay",
}
# From the top: an app may import only the apps after it.
LAYERS = ("pods", "sagas", "webhooks", "compliance", "wallets", "crowdpay")
COMPOSITION = {
    "crowdpay.demo_data",
    "crowdpay.management.commands.seed_demo",
    "crowdpay.webhooks.schema",
}


def app_of(module: str) -> str | None:
    for prefix in sorted(APPS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return APPS[prefix]
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """The absolute names of the modules `path` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def modules() -> dict[str, set[str]]:
    """Every non-test module of the apps -> the modules it imports."""
    found: dict[str, set[str]] = {}
    for prefix in APPS:
        for path in (ROOT / prefix.replace(".", "/")).rglob("*.py"):
            if "tests" not in path.relative_to(ROOT).parts:
                found[module_name(path)] = imports_of(path)
    return found


def admin_layer(graph: dict[str, set[str]]) -> set[str]:
    """The admin modules, and (to a fixed point) the modules imported by them alone."""
    layer = {
        name for name in graph if name.rpartition(".")[2] == "admin" or name.rpartition(".")[2].startswith("admin_")
    }
    while True:
        importers = {name: {m for m, imported in graph.items() if name in imported} for name in graph}
        more = {name for name, by in importers.items() if name not in layer and by and by <= layer}
        if not more:
            return layer
        layer |= more


def app_edges() -> dict[tuple[str, str], list[str]]:
    """(importing app, imported app) -> the importing modules, over every non-test module outside
    the admin layer and the composition."""
    graph = modules()
    layer = admin_layer(graph) | COMPOSITION | {name for name in graph if name.startswith("crowdpay.settings.")}
    edges: dict[tuple[str, str], list[str]] = {}
    for name, imported in graph.items():
        if name in layer:
            continue
        source = app_of(name)
        for target in filter(None, map(app_of, imported)):
            if source and target != source:
                edges.setdefault((source, target), []).append(name)
    return edges


def test_the_import_reader_sees_lazy_and_relative_imports():
    """The reader must not miss an import hidden in a function or written relative (the ones that
    used to make the cycle): checked on a known file."""
    found = imports_of(ROOT / "sagas" / "steps" / "common.py")
    assert {"compliance.screening", "sagas.state", "sagas.models"} <= found
    assert app_of("wallets.pods.services") == "pods" and app_of("wallets.fx") == "wallets"
    layer = admin_layer(modules())
    assert {"compliance.admin", "sagas.admin"} <= layer
    assert not {"compliance.services", "compliance.selectors", "compliance.four_eyes", "sagas.services"} & layer


def test_every_app_imports_only_the_apps_below_it():
    edges = app_edges()
    assert ("sagas", "compliance") in edges  # the reader works: sagas screens with compliance
    upward = {
        edge: sorted(set(files)) for edge, files in edges.items() if LAYERS.index(edge[0]) > LAYERS.index(edge[1])
    }
    assert upward == {}


def test_the_composition_modules_exist():
    """An exemption must name a real module (a rename would otherwise widen it silently)."""
    assert set(modules()) >= COMPOSITION
