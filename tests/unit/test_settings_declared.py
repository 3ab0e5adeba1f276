"""Every variable a service reads is declared in its settings.py, and docs/configuration.md is
generated from the declarations."""

import re
from pathlib import Path

from services.common import settings

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "configuration.md"
#: A read of the environment or of nameko's config anywhere but services/common/settings.py.
UNDECLARED_READ = re.compile(r"os\.environ|os\.getenv|\bgetenv\(|container\.config|self\.config\b|\bConfig\(\)")


def test_docs_configuration_md_is_generated_from_the_declarations():
    expected = settings.markdown(settings.all_declarations())
    assert DOCUMENT.read_text(encoding="utf-8") == expected, (
        "docs/configuration.md is stale: python -m services.common.settings > docs/configuration.md"
    )


def test_every_service_declares_its_settings_with_one_line_of_documentation():
    for service, declared in settings.all_declarations().items():
        names = [s.name for s in declared]
        assert len(names) == len(set(names)), f"{service} declares a setting twice"
        assert {"AMQP_URI", "MONGODB_URI", "FLOKK_MODE"} <= set(names), service
        for setting in declared:
            assert setting.doc and "\n" not in setting.doc, f"{service}: {setting.name} needs one line of doc"


def test_nothing_reads_the_environment_or_nameko_config_but_the_settings():
    offenders = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        if path == ROOT / "services" / "common" / "settings.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNDECLARED_READ.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
