"""Static validation of the production-shaped Docker Compose stack.

There is no Docker engine in CI, so docker-compose.yml, Dockerfile, .env.example
and .dockerignore are checked here: against the Compose specification (via
check-jsonschema) and against the project's own rules (same image everywhere,
LocalExecutor, healthchecks, loopback-only ports, secrets only from .env).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
GITIGNORE = REPO / ".gitignore"
DOCKERIGNORE = REPO / ".dockerignore"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
LONG_RUNNING = (
    "postgres",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
ALL_SERVICES = ("check-secrets", "postgres", *AIRFLOW_SERVICES)

EXPECTED_BUILD = {"context": ".", "dockerfile": "Dockerfile"}
MAX_PARALLELISM = 4

SECRET_WORDS = ("PASSWORD", "SECRET", "FERNET", "KEY", "TOKEN")
# Keys that match SECRET_WORDS but hold a file path, not a secret.
NON_SECRET_KEYS = frozenset({"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"})

# A whole value that is exactly one interpolation: ${VAR}, ${VAR:-d}, ${VAR:?msg} ...
_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?+][^}]*)?\}$")
# A required interpolation: ${VAR:?message} / ${VAR?message}.
_REQUIRED_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$")
_BRACED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_BARE_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

EXPECTED_ENV = {
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": "/opt/procure/dags",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://airflow-apiserver:8080/execution/",
    "PROCURE_WAREHOUSE": "/opt/procure/warehouse/procurement.duckdb",
    "PROCURE_CONFIG": "/opt/procure/config/councils.yml",
}


# --------------------------------------------------------------------------- helpers


def _is_secret_key(key: str) -> bool:
    upper = key.upper()
    return key not in NON_SECRET_KEYS and any(word in upper for word in SECRET_WORDS)


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(_REFERENCE.match(value.strip()))


def _referenced_vars(text: str) -> set[str]:
    """Variables Compose interpolates from text (``$$`` is a literal dollar)."""
    unescaped = text.replace("$$", "")
    return set(_BRACED_VAR.findall(unescaped)) | set(_BARE_VAR.findall(unescaped))


def _strings(node: Any):
    """Every string key and value in the parsed document (comments excluded)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def _compose_vars(doc: Any) -> set[str]:
    return set().union(*(_referenced_vars(s) for s in _strings(doc)))


def _environment(service: dict[str, Any]) -> dict[str, Any]:
    """A service's environment as a dict, whichever syntax (map or list) it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return dict(pairs)
    return dict(env)


def _iter_environments(node: Any):
    """Yield every ``environment`` block anywhere in the document (incl. x- extensions)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "environment" and isinstance(value, (dict, list)):
                yield _environment({"environment": value})
            else:
                yield from _iter_environments(value)
    elif isinstance(node, list):
        for item in node:
            yield from _iter_environments(item)


def _literal_secrets(doc: Any) -> list[str]:
    """Secret-looking environment keys whose value is not a ${...} reference."""
    bad = []
    for env in _iter_environments(doc):
        for key, value in env.items():
            if _is_secret_key(key) and not _is_reference(value):
                bad.append(f"{key}={value!r}")
    return bad


def _published_ports(service: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(host_ip, spec) for every published port, short or long syntax."""
    out: list[tuple[str | None, str]] = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                out.append((port.get("host_ip"), repr(port)))
            continue
        spec = str(port)
        parts = spec.rsplit(":", 2)
        host_ip = parts[0] if len(parts) == 3 else None
        out.append((host_ip, spec))
    return out


def _non_loopback_ports(doc: dict[str, Any]) -> list[str]:
    bad = []
    for name, service in doc["services"].items():
        for host_ip, spec in _published_ports(service):
            if host_ip != "127.0.0.1":
                bad.append(f"{name}: {spec}")
    return bad


def _env_example_vars() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f".env.example line is not KEY=VALUE: {line!r}"
        out[key.strip()] = value.strip()
    return out


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    doc = yaml.safe_load(compose_text)
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict)
    return doc


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


# --------------------------------------------------------------------------- self-tests of the checks


def test_checks_reject_bad_input() -> None:
    """The helpers below must actually be able to fail."""
    assert not _is_reference("hunter2")
    assert not _is_reference("prefix-${VAR}")
    assert not _is_reference("")
    assert _is_reference("${VAR:?set VAR in .env}")
    assert _literal_secrets({"services": {"x": {"environment": {"DB_PASSWORD": "pw"}}}})
    assert _literal_secrets({"services": {"x": {"environment": ["API_TOKEN=abc"]}}})
    assert _non_loopback_ports({"services": {"x": {"ports": ["8080:8080"]}}})
    assert _non_loopback_ports({"services": {"x": {"ports": ["0.0.0.0:8080:8080"]}}})
    assert _non_loopback_ports({"services": {"x": {"ports": [{"target": 80, "published": 80}]}}})
    assert not _non_loopback_ports({"services": {"x": {"ports": ["127.0.0.1:8080:8080"]}}})
    assert _referenced_vars("a $${NOT_A_VAR} ${REAL:-x} $BARE") == {"REAL", "BARE"}
    assert _compose_vars({"x": ["${A:?a}", {"k": "u:${B}@h"}]}) == {"A", "B"}


# --------------------------------------------------------------------------- specification


def test_validates_against_compose_spec() -> None:
    exe = Path(sys.executable).parent / "check-jsonschema"
    assert exe.exists(), f"check-jsonschema not installed next to {sys.executable}"
    result = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- services


def test_expected_services_exist(services: dict[str, Any]) -> None:
    missing = set(ALL_SERVICES) - set(services)
    assert not missing, f"missing services: {sorted(missing)}"


def test_airflow_services_share_one_image(services: dict[str, Any]) -> None:
    builds = {}
    for name in AIRFLOW_SERVICES:
        svc = services[name]
        assert svc.get("build") == EXPECTED_BUILD, f"{name} build: {svc.get('build')!r}"
        builds[name] = (repr(svc.get("build")), svc.get("image"))
    assert len(set(builds.values())) == 1, f"Airflow services differ in build/image: {builds}"
    assert next(iter(builds.values()))[1], "Airflow services should name the shared image"


def test_anchor_for_common_config(compose: dict[str, Any], compose_text: str) -> None:
    assert "x-airflow-common" in compose
    assert re.search(r"^x-airflow-common:\s*&airflow-common\b", compose_text, re.MULTILINE)
    assert compose_text.count("<<: *airflow-common\n") == len(AIRFLOW_SERVICES)


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_environment(services: dict[str, Any], name: str) -> None:
    env = _environment(services[name])
    for key, expected in EXPECTED_ENV.items():
        assert str(env.get(key)) == expected, f"{name}: {key}={env.get(key)!r}"
    parallelism = int(env["AIRFLOW__CORE__PARALLELISM"])
    assert 1 <= parallelism <= MAX_PARALLELISM, f"{name}: parallelism {parallelism}"
    conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    match = re.fullmatch(
        r"postgresql\+psycopg2://(\$\{[^}]+\}|[^:@]+):(\$\{[^}]+\}|[^@]+)@postgres:5432/(.+)",
        conn,
    )
    assert match, f"{name}: unexpected SQL_ALCHEMY_CONN {conn!r}"
    assert all(_is_reference(part) for part in match.groups()), (
        f"{name}: DB credentials in SQL_ALCHEMY_CONN must come from .env: {conn!r}"
    )
    assert services[name].get("env_file") in (".env", [".env"])


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("airflow-apiserver", "airflow api-server"),
        ("airflow-scheduler", "airflow scheduler"),
        ("airflow-dag-processor", "airflow dag-processor"),
        ("airflow-triggerer", "airflow triggerer"),
        ("airflow-init", "airflow db migrate"),
    ],
)
def test_service_commands(services: dict[str, Any], name: str, command: str) -> None:
    cmd = services[name].get("command")
    text = " ".join(cmd) if isinstance(cmd, list) else str(cmd)
    assert command in text, f"{name} command {text!r} does not run {command!r}"


@pytest.mark.parametrize("name", [n for n in AIRFLOW_SERVICES if n != "airflow-init"])
def test_waits_for_init(services: dict[str, Any], name: str) -> None:
    depends = services[name].get("depends_on") or {}
    assert depends.get("airflow-init", {}).get("condition") == "service_completed_successfully"
    assert depends.get("postgres", {}).get("condition") == "service_healthy"


def test_restart_policies(services: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        assert services[name].get("restart") == "unless-stopped", name
    assert services["airflow-init"].get("restart", "no") == "no"


# --------------------------------------------------------------------------- healthchecks


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("postgres", "pg_isready"),
        ("airflow-apiserver", "http://localhost:8080/api/v2/monitor/health"),
        ("airflow-scheduler", None),
        ("airflow-dag-processor", "DagProcessorJob"),
        ("airflow-triggerer", "TriggererJob"),
    ],
)
def test_healthchecks(services: dict[str, Any], name: str, needle: str | None) -> None:
    health = services[name].get("healthcheck")
    assert health, f"{name} has no healthcheck"
    assert not health.get("disable"), f"{name} healthcheck disabled"
    test = health.get("test")
    text = " ".join(test) if isinstance(test, list) else str(test)
    assert text and text not in ("NONE", "CMD"), f"{name}: empty healthcheck {test!r}"
    if needle:
        assert needle in text, f"{name}: healthcheck {text!r} lacks {needle!r}"


def test_scheduler_healthcheck_is_wired(services: dict[str, Any]) -> None:
    test = services["airflow-scheduler"]["healthcheck"]["test"]
    text = " ".join(test) if isinstance(test, list) else str(test)
    if "8974/health" in text:
        env = _environment(services["airflow-scheduler"])
        assert str(env.get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK")).lower() == "true"
    else:
        assert "--job-type SchedulerJob" in text, text


# --------------------------------------------------------------------------- exposure & secrets


def test_ports_bound_to_loopback_only(compose: dict[str, Any], services: dict[str, Any]) -> None:
    assert _non_loopback_ports(compose) == []
    assert services["airflow-apiserver"].get("ports") == ["127.0.0.1:8080:8080"]
    assert not services["postgres"].get("ports"), "metadata DB must not be published"


def test_no_literal_secrets(compose: dict[str, Any]) -> None:
    assert _literal_secrets(compose) == []


def test_required_secrets_fail_loudly(services: dict[str, Any]) -> None:
    env = _environment(services["airflow-scheduler"])
    secrets = {k: v for k, v in env.items() if _is_secret_key(k)}
    assert {"AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"} <= set(secrets)
    for key, value in secrets.items():
        assert _REQUIRED_REFERENCE.match(value), f"{key} should use ${{VAR:?...}}: {value!r}"
    pg_password = _environment(services["postgres"])["POSTGRES_PASSWORD"]
    assert _REQUIRED_REFERENCE.match(pg_password), pg_password


def test_env_is_gitignored() -> None:
    lines = {line.strip() for line in GITIGNORE.read_text().splitlines()}
    assert ".env" in lines


def test_env_example_covers_compose_vars(compose: dict[str, Any]) -> None:
    assert ENV_EXAMPLE.exists()
    example = _env_example_vars()
    referenced = _compose_vars(compose)
    assert referenced, "compose file should interpolate its secrets from .env"
    missing = referenced - set(example)
    assert not missing, f".env.example lacks {sorted(missing)}"
    unused = set(example) - referenced
    assert not unused, f".env.example has variables compose never uses: {sorted(unused)}"


def test_env_example_holds_no_real_secrets() -> None:
    for key, value in _env_example_vars().items():
        if _is_secret_key(key):
            assert value == "" or "change-me" in value, f"{key} looks like a real secret"


# --------------------------------------------------------------------------- image & mounts


def test_venv_not_shadowed_by_bind_mount(services: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        volumes = [str(v) if not isinstance(v, dict) else v.get("target") for v in services[name].get("volumes") or []]
        assert {".:/opt/procure", ".:/opt/procure:ro"} & set(volumes), f"{name} lacks the project bind mount"
        targets = {v.split(":")[1] if ":" in v else v for v in volumes}
        assert "/opt/venv" not in targets, f"{name} shadows /opt/venv"


# --------------------------------------------------------------------------- hardening (issue 16 items 2 and 14)

#: the services that write into the project (warehouse/, publish/, data/landing, dbt_project/target)
PROJECT_WRITERS = {"airflow-init", "airflow-scheduler"}
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def test_project_mounted_read_only_where_a_service_only_reads(services: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        mounts = [str(v) for v in services[name].get("volumes") or [] if str(v).startswith(".:")]
        expected = ".:/opt/procure" if name in PROJECT_WRITERS else ".:/opt/procure:ro"
        assert mounts == [expected], f"{name}: project mounts {mounts}, expected [{expected!r}]"


def test_images_pinned_by_digest(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue  # built here from the Dockerfile, whose base image is pinned below
        assert _DIGEST.search(str(service.get("image"))), f"{name}: image {service.get('image')!r} not pinned by digest"
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert froms and all(_DIGEST.search(f) for f in froms), f"Dockerfile base images not pinned by digest: {froms}"


def test_every_service_has_a_memory_limit(services: dict[str, Any]) -> None:
    for name, service in services.items():
        limit = (((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
        assert limit, f"{name}: no deploy.resources.limits.memory"
        default = re.fullmatch(r"\$\{[A-Z_]+:-(\d+[mg])\}|(\d+[mg])", str(limit))
        assert default, f"{name}: memory limit {limit!r} is not N(m|g) or ${{VAR:-N(m|g)}}"


def test_placeholder_secrets_stop_the_stack_before_anything_starts(services: dict[str, Any]) -> None:
    check = services["check-secrets"]
    assert check.get("command") == ["procure", "check-secrets"]
    assert check.get("env_file") in (".env", [".env"]) and check.get("restart") == "no"
    assert services["postgres"]["depends_on"]["check-secrets"]["condition"] == "service_completed_successfully"
    for name in AIRFLOW_SERVICES:  # through postgres (healthy only after check-secrets succeeded)
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy", name


def test_env_example_secrets_are_refused_and_generated_ones_accepted() -> None:
    import secrets

    from cryptography.fernet import Fernet

    from procure.secrets_check import SECRETS, problems

    example = _env_example_vars()
    refused = problems(example)
    assert [line.split()[0] for line in refused] == list(SECRETS)  # every secret .env.example ships is refused
    assert all("change-me" not in line for line in refused)  # names the variable, never shows the value
    generated = {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW_API_SECRET_KEY": secrets.token_urlsafe(32),
    }
    assert problems(generated) == []
    for bad in ("changeme", "Change_Me", "password", "<your secret>", "aaaaaaaaaaaaaaaaaaaa", "short-but-real"):
        assert problems({**generated, "AIRFLOW_JWT_SECRET": bad}), bad
    assert problems({**generated, "AIRFLOW__CORE__FERNET_KEY": secrets.token_urlsafe(32)})  # not 32 bytes b64


def test_check_secrets_command_exits_1_on_placeholders(monkeypatch) -> None:
    from click.testing import CliRunner

    from procure.cli import main

    for key, value in _env_example_vars().items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["check-secrets"])
    assert result.exit_code == 1
    assert "refusing to start: POSTGRES_PASSWORD is a known placeholder" in result.output


def test_dockerfile() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm\b", text, re.MULTILINE)
    assert re.search(r"UV_PROJECT_ENVIRONMENT=/opt/venv\b", text)
    assert re.search(r"PATH=/opt/venv/bin:", text)
    assert re.search(r"^COPY pyproject\.toml uv\.lock ", text, re.MULTILINE)
    assert re.search(r"uv sync --frozen --no-dev --compile-bytecode", text)
    assert "curl" in text, "healthchecks need curl in the image"


def test_dockerignore() -> None:
    entries = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()}
    required = {
        ".venv",
        "warehouse",
        "publish",
        "airflow_home",
        "data/landing",
        "data/sample",
        "dbt_project/target",
        ".git",
        ".env",
    }
    missing = required - entries
    assert not missing, f".dockerignore lacks {sorted(missing)}"
