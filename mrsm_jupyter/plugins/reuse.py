"""Reusing installed packages across environments instead of installing them again.

For each requirement of a plugin (and, for what is linked, its dependencies), in order:
1. already in the plugin's environment at a version that satisfies it: nothing to do;
2. in the kernel's environment at a satisfying version: reused as it is (the kernel's
   site-packages come after the plugin's own on a worker's path);
3. in another plugin's environment at a satisfying version: its files (listed by its
   ``RECORD``) are hard-linked into this environment, so they take no new disk space;
4. otherwise pip installs it.
Versions are compared by :mod:`packaging`; installed distributions are read with
:mod:`importlib.metadata`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mrsm_jupyter.errors import PluginError


@dataclass
class ReusePlan:
    """What to do with each requirement: ``kernel`` and ``linked`` hold the distributions
    reused, ``to_install`` the requirements left for pip."""

    kernel: list[metadata.Distribution] = field(default_factory=list)
    linked: list[tuple[metadata.Distribution, Path]] = field(default_factory=list)
    to_install: list[Requirement] = field(default_factory=list)


def parse_requirements(plugin: str, required: Iterable[str]) -> list[Requirement]:
    try:
        return [Requirement(text) for text in required]
    except InvalidRequirement as exc:
        raise PluginError(plugin, f"has an invalid requirement ({exc}).", "Fix its `required` list.") from exc


def distributions(paths: Sequence[Path | str]) -> dict[str, metadata.Distribution]:
    """Installed distributions on ``paths`` by canonical name (the first one found wins)."""
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions(path=[str(p) for p in paths]):
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), dist)
    return found


def satisfies(dist: metadata.Distribution | None, requirement: Requirement) -> bool:
    return dist is not None and requirement.specifier.contains(dist.version, prereleases=True)


def dependencies(dist: metadata.Distribution, extras: Iterable[str]) -> list[Requirement]:
    """The distribution's requirements that apply here (markers evaluated, with its extras)."""
    wanted = [*extras, ""]
    applying = []
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or any(requirement.marker.evaluate({"extra": e}) for e in wanted):
            applying.append(requirement)
    return applying


def dist_bytes(dist: metadata.Distribution) -> int:
    """Bytes on disk of the files its RECORD lists."""
    total = 0
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def plan_reuse(
    requirements: Sequence[Requirement],
    own: dict[str, metadata.Distribution],
    kernel: dict[str, metadata.Distribution],
    others: dict[Path, dict[str, metadata.Distribution]],
) -> ReusePlan:
    """Decide, requirement by requirement, what is reused and what pip must install."""
    plan = ReusePlan()
    queue, seen = list(requirements), set()
    while queue:
        requirement = queue.pop(0)
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker is not None and not requirement.marker.evaluate()):
            continue
        seen.add(name)
        if satisfies(own.get(name), requirement):
            continue
        if satisfies(kernel.get(name), requirement):
            plan.kernel.append(kernel[name])
            continue
        source = next(
            (site for site, dists in others.items() if satisfies(dists.get(name), requirement)), None
        )
        if source is None:
            plan.to_install.append(requirement)
            continue
        dist = others[source][name]
        plan.linked.append((dist, source))
        queue += dependencies(dist, requirement.extras)
    return plan


def link_distribution(dist: metadata.Distribution, target_site: Path) -> int:
    """Hard-link the files of ``dist`` into ``target_site``; copies where
    a link is impossible (another file system). Returns the bytes that were not copied.
    Files the RECORD places outside site-packages (scripts) are left out."""
    shared = 0
    for file in dist.files or []:
        source = Path(str(dist.locate_file(file)))
        target = (target_site / file).resolve()
        if not source.is_file() or not target.is_relative_to(target_site.resolve()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(source, target)
            shared += source.stat().st_size
        except OSError:
            shutil.copy2(source, target)
    return shared
