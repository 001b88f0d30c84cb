"""Check Airflow option names against the installed Airflow and providers: JSON on stdin, JSON on stdout.

stdin:  {"config": {section: {option: value}}, "env_names": ["AIRFLOW__SECTION__OPTION", ...]}
stdout: {"problems": ["one line per problem", ...], "options": {"[section] option": {"default": ..., ...}}}

An option is known when the merged configuration description has it: core's config.yml plus every installed
provider's `config` (3.3.2 loads those lazily into `conf.configuration_description`; no explicit
`initialize_providers_configuration()` is needed). It is deprecated when it is the old name in
`conf.deprecated_options` / `deprecated_sections`, when its description carries `version_deprecated`, or when
`airflow config lint` (CONFIGS_CHANGES) reports it as renamed or removed. `_cmd` / `_secret` variants are what
Airflow honours only for sensitive options, so they are problems elsewhere. In a free-form section (client keyword
arguments) any option name counts as known.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from _check_output import JsonAnswer

ENV_PREFIX = "AIRFLOW__"
# Per-key secrets-backend kwargs (`_collect_kwarg_env_vars` in airflow/_shared/configuration/parser.py): any key
# after these prefixes is passed to the backend, so it is not an option name.
BACKEND_KWARG_ENV_PREFIXES = ("AIRFLOW__SECRETS__BACKEND_KWARG__", "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARG__")
INDIRECT_SUFFIXES = ("_cmd", "_secret")
# Sections read whole (`conf.getsection`) and passed to a client as keyword arguments, so any option name is valid
# there once the section itself is known (the Elasticsearch / OpenSearch log handlers, Celery's broker transport).
FREE_FORM_SECTIONS = frozenset({"elasticsearch_configs", "opensearch_configs", "celery_broker_transport_options"})


class OptionCatalog:
    """What the installed Airflow knows about its options, read once from `airflow.configuration.conf`."""

    def __init__(self) -> None:
        from airflow.cli.commands.config_command import CONFIGS_CHANGES
        from airflow.configuration import conf
        from airflow.providers_manager import ProvidersManager

        self.conf = conf
        self.description: dict[str, dict[str, Any]] = conf.configuration_description
        self.core_description: dict[str, dict[str, Any]] = conf._configuration_description
        self.section_provider = {
            section: provider
            for provider, provider_config in ProvidersManager().provider_configs
            for section in provider_config
        }
        # old (section, option) -> (new section, new option, since)
        self.renamed = {old[:2]: (*new, old[2]) for new, old in conf.deprecated_options.items()}
        self.renamed_sections = {old: (new, since) for new, (old, since) in conf.deprecated_sections.items()}
        self.lint_changes = {
            (change.config.section, change.config.option): change
            for change in CONFIGS_CHANGES
            if change.renamed_to is not None or change.was_removed
        }
        # Env names replace "." in a section name with "_" (`_env_var_name`): AIRFLOW__COMMON_IO__... is [common.io].
        self.env_sections = {section.replace(".", "_").upper(): section for section in self.description}
        self.env_sections.update({old.replace(".", "_").upper(): old for old in self.renamed_sections})

    def options(self, section: str) -> dict[str, Any]:
        return self.description.get(section, {}).get("options") or {}

    def problems(self, section: str, option: str, value: Any, where: str) -> list[str]:
        """Every problem with one option; `value` is None when only the name is known (an env name)."""
        name = f"{where}: [{section}] {option}"
        if section in self.renamed_sections:
            new_section, since = self.renamed_sections[section]
            return [f"{name}: section [{section}] is deprecated since {since}; use [{new_section}]"]
        if (section, option) in self.renamed:
            new_section, new_option, since = self.renamed[(section, option)]
            return [f"{name} is deprecated since {since}; use [{new_section}] {new_option}"]
        change = self.lint_changes.get((section, option))
        if change is not None and (change.remove_if_equals is None or str(value) == str(change.remove_if_equals)):
            if (new := change.renamed_to) is not None:
                return [f"{name} was renamed in Airflow 3; use [{new.section}] {new.option}"]
            return [f"{name} was removed in Airflow 3. {change.suggestion}".strip()]
        if section not in self.description:
            hint = _did_you_mean(section, self.description)
            return [f"{name}: unknown section [{section}]{hint}"]
        known = self.options(section)
        if section in FREE_FORM_SECTIONS:
            return []
        if option not in known:
            base = next((option[: -len(s)] for s in INDIRECT_SUFFIXES if option.endswith(s)), None)
            if base is not None and base in known:
                if (section, base) in self.conf.sensitive_config_values:
                    return self.problems(section, base, None, where)
                variant = option[len(base) :]
                return [f"{name}: Airflow reads {variant} only for sensitive options; [{section}] {base} is not one"]
            hint = _did_you_mean(option, known)
            return [f"{name}: unknown option in [{section}]{hint}"]
        details = known[option]
        if details.get("version_deprecated") or details.get("deprecation_reason"):
            reason = " ".join((details.get("deprecation_reason") or "").split())
            return [f"{name} is deprecated since {details.get('version_deprecated')}: {reason}".rstrip(": ")]
        deprecated_value = self.conf.deprecated_values.get(section, {}).get(option)
        if value is not None and deprecated_value is not None and deprecated_value[0].fullmatch(str(value)):
            return [f"{name}: value {value!r} is deprecated; Airflow replaces it with {deprecated_value[1]!r}"]
        return []

    def describe(self, section: str, option: str) -> dict[str, Any] | None:
        details = self.options(section).get(option)
        if details is None and section in FREE_FORM_SECTIONS and section in self.description:
            details = {}
        if details is None:
            return None
        if option in (self.core_description.get(section, {}).get("options") or {}):
            source = "apache-airflow-core"
        elif section in self.section_provider:
            source = self.section_provider[section]
        elif section in FREE_FORM_SECTIONS:
            source = "free-form"
        else:  # a provider that is not installed; core ships a few of its defaults
            source = "provider_config_fallback_defaults.cfg"
        return {
            "default": details.get("default"),
            "type": details.get("type"),
            "sensitive": (section, option) in self.conf.sensitive_config_values,
            "from": source,
            "version_added": details.get("version_added"),
        }


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _env_option(catalog: OptionCatalog, env_name: str) -> tuple[str, str] | str | None:
    """(section, option) for an AIRFLOW__SECTION__OPTION name, a problem line, or None when it is no option."""
    if not env_name.startswith(ENV_PREFIX) or env_name.startswith(BACKEND_KWARG_ENV_PREFIXES):
        return None  # AIRFLOW_CONN_*, AIRFLOW_VAR_*, AIRFLOW_HOME, ... are not options
    env_section, separator, env_option = env_name[len(ENV_PREFIX) :].partition("__")
    if not separator or not env_section or not env_option:
        return f"env {env_name}: not of the form AIRFLOW__SECTION__OPTION"
    return catalog.env_sections.get(env_section, env_section.lower()), env_option.lower()


def check(config: Mapping[str, Mapping[str, Any]], env_names: Iterable[str]) -> dict[str, Any]:
    catalog = OptionCatalog()
    problems: list[str] = []
    checked: set[tuple[str, str]] = set()
    for section, options in config.items():
        for option, value in options.items():
            problems += catalog.problems(section.lower(), option.lower(), value, "config")
            checked.add((section.lower(), option.lower()))
    for env_name in env_names:
        parsed = _env_option(catalog, env_name)
        if isinstance(parsed, str):
            problems.append(parsed)
        elif parsed is not None:
            problems += catalog.problems(*parsed, None, f"env {env_name}")
            checked.add(parsed)
    described = {f"[{s}] {o}": catalog.describe(s, o) for s, o in sorted(checked)}
    return {"problems": problems, "options": {name: info for name, info in described.items() if info}}


if __name__ == "__main__":
    answer = JsonAnswer()
    request = json.load(sys.stdin)
    answer.send(check(request.get("config") or {}, request.get("env_names") or []))
