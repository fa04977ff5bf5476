# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml as ansible-builder reads it, offline: the schema is valid, the
build context carries the collection tarball, and builder's own introspection of the
installed collection finds every requirement of requirements.txt and bindep.txt (what the
image gets). The container build itself needs a registry and is not run here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# what the collection tarball is built from (not tests or benchmarks, nor their virtual environments)
CONTENT = ("galaxy.yml", "README.md", "LICENSE", "requirements.txt", "bindep.txt", "meta", "plugins", "roles",
           "playbooks", "docs", "changelogs")


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line.split()[0].split(">")[0].split("<")[0].split("=")[0].split("[")[0].lower())
    return names


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """(build context, installed collections folder) for this tree."""
    top = tmp_path_factory.mktemp("ee")
    shutil.copy(ROOT / "execution-environment.yml", top)
    source = top / "source"
    source.mkdir()
    for name in CONTENT:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.is_file():
            shutil.copy(path, source / name)
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(top / "context-files"),
                    str(source)], check=True, capture_output=True, text=True)
    built = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context"],
                           cwd=top, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next((top / "context-files").glob("geofoss-netbox-*.tar.gz"))
    # --force and a collections path of its own: a geofoss.netbox found elsewhere must not count as installed
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(top / "installed"))
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force",
                    "-p", str(top / "installed"), str(tarball)], check=True, capture_output=True, text=True, env=env)
    return top / "context", top / "installed"


def test_context_installs_the_collection_tarball(context):
    build = context[0]
    assert [p.name for p in (build / "_build" / "collections").iterdir()][0].startswith("geofoss-netbox-")
    containerfile = next(p for p in build.iterdir() if p.name in ("Containerfile", "Dockerfile")).read_text()
    assert "/build/context-files/geofoss-netbox.tar.gz" in (build / "_build" / "requirements.yml").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert 'PYCMD="/usr/bin/python3.12"' in containerfile


def test_introspection_finds_the_collection_requirements(context, tmp_path):
    build, installed = context
    python, system = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    subprocess.run([sys.executable, str(build / "_build" / "scripts" / "introspect.py"), "introspect", str(installed),
                    "--write-pip", str(python), "--write-bindep", str(system)], check=True, capture_output=True, text=True)
    assert requirement_names(ROOT / "requirements.txt") <= requirement_names(python)
    assert requirement_names(ROOT / "bindep.txt") <= requirement_names(system)


def test_tarball_has_the_roles_and_playbooks(context):
    installed = context[1]
    collection = installed / "ansible_collections" / "geofoss" / "netbox"
    for path in ("playbooks/import.yml", "playbooks/validate.yml", "playbooks/sites.yml",
                 "roles/geo_data/meta/argument_specs.yml", "roles/netbox_geo/templates/report.md.j2",
                 "roles/netbox_geo_sites/tasks/main.yml", "meta/execution-environment.yml"):
        assert (collection / path).is_file(), path
