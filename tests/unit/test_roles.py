# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles agree with themselves and with the modules: every variable of defaults/main.yml
is in meta/argument_specs.yml with the same default (and the other way round), and every
option a role passes to a module of the collection is one of that module's documented options."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def load(path: Path):
    return yaml.safe_load(path.read_text())


def role_options(role: str) -> dict:
    """The options of every entry point of the role (main, and tasks_from ones like doctor)."""
    options = {}
    for spec in load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"].values():
        options.update(spec["options"])
    return options


def module_options(module: str) -> set[str]:
    """The options of plugins/modules/<module>.py, its doc fragments' included."""
    tree = ast.parse((ROOT / "plugins" / "modules" / (module + ".py")).read_text())
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", None) == "DOCUMENTATION")
    doc = yaml.safe_load(text)
    options = set(doc.get("options", {}))
    for fragment in doc.get("extends_documentation_fragment", []):
        name = fragment.rsplit(".", 1)[-1]
        source = ast.parse((ROOT / "plugins" / "doc_fragments" / (name + ".py")).read_text())
        for node in ast.walk(source):
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
                options |= set(yaml.safe_load(node.value.value).get("options", {}))
    return options


def tasks_of(tasks):
    """Every task of a task list, those inside blocks included."""
    for task in tasks or []:
        yield task
        for section in ("block", "rescue", "always"):
            yield from tasks_of(task.get(section))


def module_calls(role: str):
    """(task file, task name, module, option names) of every task of the role calling a collection module."""
    for path in sorted((ROOT / "roles" / role / "tasks").glob("*.yml")):
        for task in tasks_of(load(path)):
            for key, args in task.items():
                if key.startswith("geofoss.netbox."):
                    yield path.name, task["name"], key.split(".")[-1], set(args)


def test_there_are_three_roles():
    assert ROLES == ["geo_data", "netbox_geo", "netbox_geo_sites"]


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_spec_name_the_same_variables(role):
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml")
    assert set(defaults) <= set(role_options(role))
    main = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(main) <= set(defaults)


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_defaults_are_the_role_defaults(role):
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml")
    for name, spec in role_options(role).items():
        if name not in defaults:  # an entry point's variable that another role defaults (geo_cache_dir)
            assert "default" not in spec, name
            continue
        if "{{" in str(defaults[name]) and "lookup(" in str(defaults[name]):
            assert "default" not in spec, "%s: an environment lookup is documented in the description" % name
            continue
        assert spec.get("default") == defaults[name], name


@pytest.mark.parametrize("role", ROLES)
def test_roles_pass_modules_only_their_options(role):
    calls = list(module_calls(role))
    assert calls, "role %s calls no module of the collection" % role
    for filename, task, module, args in calls:
        unknown = args - module_options(module)
        assert not unknown, "%s %r passes %s options it does not have: %s" % (filename, task, module, sorted(unknown))


@pytest.mark.parametrize("role", ROLES)
def test_the_token_is_no_log(role):
    options = role_options(role)
    if "netbox_token" in options:
        assert options["netbox_token"].get("no_log") is True


def test_the_doctor_checks_the_cache_folder_and_source_the_import_uses():
    tree = ast.parse((ROOT / "plugins" / "modules" / "geo_doctor.py").read_text())
    doc = yaml.safe_load(next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                              and getattr(node.targets[0], "id", None) == "DOCUMENTATION"))
    data = load(ROOT / "roles" / "geo_data" / "defaults" / "main.yml")
    assert doc["options"]["cache_dir"]["default"] == data["geo_cache_dir"]
    assert doc["options"]["source"]["default"] == data["geo_source"]


def test_the_doctor_checks_the_schema_the_sync_keeps():
    """The options that decide what the sync creates (ownership, tag, attribute fields, links, prune) reach
    the role's doctor from the same variables, so the doctor checks what the import will need."""
    def arguments(task_file, module):
        return next(task[module] for task in tasks_of(load(ROOT / "roles" / "netbox_geo" / "tasks" / task_file))
                    if module in task)
    sync = arguments("main.yml", "geofoss.netbox.netbox_geo_sync")
    doctor = arguments("doctor.yml", "geofoss.netbox.geo_doctor")
    for option in ("ownership", "managed_tag", "attribute_fields", "netbox_links", "prune"):
        assert doctor[option] == sync[option], option
