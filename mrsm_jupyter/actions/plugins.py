"""``install plugin``, ``show plugins``, ``setup plugins`` and ``uninstall plugin``: thin
shells over :mod:`mrsm_jupyter.plugins.api`."""

from __future__ import annotations

from collections.abc import Sequence

from tqdm.auto import tqdm

from mrsm_jupyter.actions.errors import ActionArgumentError, ConfirmationError
from mrsm_jupyter.actions.grammar import ActionRequest
from mrsm_jupyter.actions.outcome import ActionOutcome, Table
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.plugins.api import SetupResult, get_plugins, install_plugin, setup_plugin, uninstall_plugin
from mrsm_jupyter.plugins.manager import broken_plugins

_REPORT_HEADERS = ("plugin", "installed", "from kernel", "linked", "bytes saved", "seconds saved", "seconds")


def _report_table(caption: str, results: Sequence[SetupResult]) -> Table:
    rows = tuple(
        (
            r.plugin.name,
            ", ".join(r.report.installed) or "-",
            ", ".join(r.report.from_kernel) or "-",
            ", ".join(r.report.linked) or "-",
            f"{r.report.bytes_saved:,}",
            f"{r.report.seconds_saved:.2f}",
            f"{r.report.seconds:.2f}",
        )
        for r in results
    )
    return Table(caption, _REPORT_HEADERS, rows, numeric=frozenset({4, 5, 6}))


def _names(request: ActionRequest, example: str) -> list[str]:
    if not request.names:
        raise ActionArgumentError(f"{request.words} needs a plugin, e.g. `{request.words} {example}`.")
    return request.names


def _bar(names: list[str], context: ActionContext, action: str) -> list[str] | tqdm[str]:
    return tqdm(names, desc=action, unit="plugin") if context.progress and len(names) > 1 else names


def install_plugins(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Install plugins from paths (a ``.py`` file or a package directory) or, for installed
    plugins, their requirements again; each into its own environment."""
    results = [install_plugin(name) for name in _bar(_names(request, "./weather.py"), context, "install")]
    saved = sum(r.report.bytes_saved for r in results)
    message = f"Installed {len(results)} plugin(s); reuse saved {saved:,} bytes."
    return ActionOutcome(request.words, message, tables=[_report_table("Installed plugins", results)])


def setup_plugins(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Install the requirements of the named plugins (all by default) and run their ``setup()``."""
    names = request.names or [p.name for p in get_plugins()]
    results = [setup_plugin(name) for name in _bar(names, context, "setup")]
    return ActionOutcome(
        request.words, f"Set up {len(results)} plugin(s).", tables=[_report_table("Plugins set up", results)]
    )


def show_plugins(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Installed plugins: where they come from, what they define and what they require."""
    plugins = [p for p in get_plugins() if not request.names or p.name in request.names]
    broken = broken_plugins()
    rows = tuple(
        (
            p.name,
            p.version or "",
            p.origin,
            ", ".join(sorted(p.functions)) or "-",
            "broken: " + broken[p.name] if p.name in broken else ("yes" if p.has_hooks else "no"),
            ", ".join(p.required) or "-",
        )
        for p in plugins
    )
    table = Table("Plugins", ("plugin", "version", "from", "defines", "hooks", "required"), rows)
    return ActionOutcome(request.words, f"{len(plugins)} plugin(s) installed.", tables=[table])


def uninstall_plugins(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Remove plugins and their environments (asks first, unless ``-y``)."""
    names = _names(request, "weather")
    if not request.yes and not context.confirm(f"Uninstall {len(names)} plugin(s): {', '.join(names)}?"):
        raise ConfirmationError(f"{request.words}: cancelled; nothing was changed.")
    removed = [name for name in names if uninstall_plugin(name)]
    missing = sorted(set(names) - set(removed))
    message = f"Uninstalled {len(removed)} plugin(s)." + (
        f" Not installed: {', '.join(missing)}." if missing else ""
    )
    return ActionOutcome(request.words, message)
