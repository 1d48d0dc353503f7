"""Finding plugins without running them.

A plugin is ``<plugins dir>/<name>.py`` or ``<plugins dir>/<name>/__init__.py``, or a module
named by an entry point in the ``mrsm_jupyter.plugins`` group. Its source is read, not
imported: what it defines (``fetch``, ``sync``, ``register``, ``setup``), its ``required``
packages (a literal list) and whether it implements hooks (it mentions ``hookimpl`` or
``make_connector``) are known before any of its code runs, so a plugin that only fetches
never executes in the kernel.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from mrsm_jupyter.errors import PluginError
from mrsm_jupyter.plugins.names import plugins_dir, validate_plugin_name
from mrsm_jupyter.plugins.worker import PLUGINS_PACKAGE

ENTRY_POINT_GROUP = "mrsm_jupyter.plugins"


DATA_FUNCTIONS = ("fetch", "sync", "register", "setup")
_HOOK_WORDS = ("hookimpl", "make_connector")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plugin:
    """A plugin as found on disk: where its code is and what it declares."""

    name: str
    module: str
    source: Path
    required: tuple[str, ...] = ()
    functions: frozenset[str] = frozenset()
    has_hooks: bool = False
    version: str | None = None
    # "directory" or "entry point".
    origin: str = "directory"


def _literal(node: ast.expr, name: str, field: str) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise PluginError(
            name, f"{field} must be a literal.", f"Write e.g. {field} = ['pandas>=2']."
        ) from None


def _assigned(statement: ast.stmt) -> tuple[str, ast.expr] | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Name):
            return target.id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
        return statement.target.id, statement.value
    return None


def _mentions_hooks(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        word = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
        if word in _HOOK_WORDS:
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name in _HOOK_WORDS for a in node.names):
            return True
    return False


def read_plugin(name: str, module: str, source: Path, origin: str = "directory") -> Plugin:
    """What the plugin's source declares (its top-level statements), without running it."""
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise PluginError(name, f"cannot be read ({exc}).", f"Fix {source}.") from exc
    functions = {s.name for s in tree.body if isinstance(s, ast.FunctionDef) and s.name in DATA_FUNCTIONS}
    required: tuple[str, ...] = ()
    version = None
    for statement in tree.body:
        assigned = _assigned(statement)
        if assigned and assigned[0] == "required":
            value = _literal(assigned[1], name, "required")
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise PluginError(name, "required must list requirement strings.", "E.g. ['requests>=2'].")
            required = tuple(value)
        elif assigned and assigned[0] == "__version__":
            version = str(_literal(assigned[1], name, "__version__"))
    return Plugin(
        name, module, source, required, frozenset(functions), _mentions_hooks(tree), version, origin
    )


def _directory_plugins(directory: Path) -> list[Plugin]:
    found: list[Plugin] = []
    if not directory.is_dir():
        return found
    for entry in sorted(directory.iterdir()):
        name = entry.stem if entry.suffix == ".py" else entry.name
        source = entry if entry.suffix == ".py" else entry / "__init__.py"
        if name.startswith((".", "_")) or not source.is_file():
            continue
        try:
            validate_plugin_name(name)
        except PluginError:
            log.warning("Skipping %s in the plugins directory: not a valid plugin name.", entry)
            continue
        found.append(read_plugin(name, f"{PLUGINS_PACKAGE}.{name}", source))
    return found


def _entry_point_plugins() -> list[Plugin]:
    found = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        spec = importlib.util.find_spec(entry_point.module)
        if spec is None or spec.origin is None:
            log.warning(
                "Entry point %s names %s, which is not installed.", entry_point.name, entry_point.module
            )
            continue
        name = validate_plugin_name(entry_point.name)
        found.append(read_plugin(name, entry_point.module, Path(spec.origin), "entry point"))
    return found


def find_plugins() -> dict[str, Plugin]:
    """Every plugin by name; one in the plugins directory wins over an entry point's."""
    plugins = {p.name: p for p in _entry_point_plugins()}
    plugins.update({p.name: p for p in _directory_plugins(plugins_dir())})
    return plugins


def get_plugin(name: str) -> Plugin:
    """The plugin called ``name``, or an error listing the installed ones."""
    plugins = find_plugins()
    if validate_plugin_name(name) not in plugins:
        known = ", ".join(sorted(plugins)) or "none"
        raise PluginError(name, f"is not installed (installed: {known}).", "Run `install plugin PATH`.")
    return plugins[name]
