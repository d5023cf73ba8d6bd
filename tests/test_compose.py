"""docker-compose.yml, kept honest without a Docker engine.

Every command it runs exists here, every healthcheck runs a program its image has, the start-up
order exists, the observability files it mounts parse and agree with the app's metric names
and the README's runbooks; then the start-up itself is replayed as plain processes on loopback.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from graphlib import TopologicalSorter
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from config.environment import VARIABLES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
APP_SERVICES = sorted(n for n, s in SERVICES.items() if "build" in s)
ONE_SHOTS = {n for n, s in SERVICES.items() if s.get("restart") == "no"}
PROMETHEUS = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
ALERTS = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
DASHBOARD = json.loads((ROOT / "deploy/grafana/smartapp.json").read_text())
README = (ROOT / "README.md").read_text()

# What the app exposes on /metrics (smartapp/observability/metrics.py); histograms also as
# _bucket, _sum and _count.
METRICS = {
    "smartapp_http_requests_total",
    "smartapp_http_request_seconds",
    "smartapp_summary_first_section_seconds",
    "smartapp_summary_complete_seconds",
    "smartapp_summary_sections_total",
    "smartapp_summary_cache_total",
    "smartapp_launches_total",
    "smartapp_sign_outs_total",
    "smartapp_sessions_ended_total",
    "smartapp_fhir_requests_total",
    "smartapp_fhir_request_seconds",
    "smartapp_token_requests_total",
    "smartapp_token_request_seconds",
    "smartapp_refresh_lock_wait_seconds",
    "smartapp_circuit_open",
    "smartapp_discovery_fetches_total",
    "smartapp_audit_records_total",
    "smartapp_audit_write_failures_total",
    "up",
}
ALERT_NAMES = {
    "SummaryCompleteSlow",
    "RefreshFailureRatio",
    "CircuitOpen",
    "FhirErrorRatio",
    "LaunchFailureRatio",
    "AppErrors",
    "AuditWriteFailures",
    "MetricsDown",
}
# The programs a healthcheck may run, by image: the app image is python:3.11-slim plus
# requirements/prod.lock (no curl, no wget); prom/prometheus is busybox-based.
IMAGE_PROGRAMS = {
    "build": {"python", "celery"},
    "postgres": {"pg_isready"},
    "redis": {"redis-cli"},
    "prom/prometheus": {"wget"},
}


def argv(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def dependencies(name: str) -> dict[str, dict]:
    return dict(SERVICES[name].get("depends_on", {}))


def ancestors(name: str) -> set[str]:
    found: set[str] = set()
    todo = list(dependencies(name))
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(dependencies(current))
    return found


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = [line.partition("=") for line in lines if line and not line.startswith("#")]
    return {key: value for key, _, value in pairs}


def test_the_system_is_all_there() -> None:
    assert {"web", "worker", "beat", "postgres", "redis", "sandbox"} <= set(SERVICES)
    assert {"migrate", "sandbox-schema", "sandbox-seed", "metrics-token"} <= ONE_SHOTS
    assert {"prometheus", "grafana", "jaeger"} <= set(SERVICES)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_app_command_exists_in_the_project(name: str) -> None:
    command = argv(SERVICES[name])
    program = command[0]
    if program == "gunicorn":
        assert command[1:3] == ["-c", "config/gunicorn.py"], "gunicorn's multiprocess hooks"
        assert (ROOT / command[2]).exists()
        module, _, attribute = command[3].partition(":")
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        assert getattr(importlib.import_module(module), attribute or "application")
    elif program == "celery":
        assert command[1:3] == ["-A", "config"]
        assert command[3] in {"worker", "beat"}
        from config import celery_app

        assert celery_app.main == "smartapp"
    elif program == "python" and command[1].endswith(".py") and command[1] != "manage.py":
        assert (ROOT / command[1]).is_file(), f"{name}: no script {command[1]}"
    elif program == "python":
        assert command[1] == "manage.py"
        assert (ROOT / "manage.py").exists()
        assert command[2] in get_commands(), f"{name}: no management command {command[2]}"
    else:
        pytest.fail(f"{name}: unknown program {program}")


def test_the_image_runs_gunicorn_with_its_hooks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"gunicorn", "-c", "config/gunicorn.py", "config.wsgi"' in dockerfile
    assert "chown -R app /app/var" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "var/*"} <= set(ignored), "no secrets or state in the image"


def test_images_and_build() -> None:
    assert (ROOT / "Dockerfile").exists()
    for name, service in SERVICES.items():
        assert ("build" in service) != ("image" in service), name
        image = service.get("image", "")
        assert ":" in image or not image, f"{name}: pin the image's tag"
        assert not image.endswith(":latest"), f"{name}: pin the image's tag"


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if "healthcheck" in s))
def test_healthchecks_run_programs_the_image_has(name: str) -> None:
    service = SERVICES[name]
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD", f"{name}: exec form (no shell needed)"
    image = "build" if "build" in service else service["image"].rsplit(":", 1)[0]
    assert test[1] in IMAGE_PROGRAMS[image], f"{name}: {test[1]} is not in the image"
    if test[1] == "python":
        assert test[2] == "-c"
        compile(test[3], f"{name} healthcheck", "exec")
    lock = (ROOT / "requirements/prod.lock").read_text()
    if test[1] == "celery":
        assert re.search(r"^celery==", lock, re.MULTILINE)


def test_dependencies_name_real_services() -> None:
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
        mode = service.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.split(":", 1)[1] in dependencies(name), f"{name}: depend on {mode}"
            assert "ports" not in service, f"{name}: the namespace's owner publishes its ports"


def test_start_up_order() -> None:
    order = list(TopologicalSorter({n: set(dependencies(n)) for n in SERVICES}).static_order())
    assert set(order) == set(SERVICES), "a start-up order exists (no cycle)"
    for name in ("web", "worker", "beat", "sandbox-schema"):
        assert "migrate" in ancestors(name), f"migrate before {name}"
    assert "sandbox-schema" in ancestors("sandbox-seed")
    assert "sandbox-seed" in ancestors("sandbox")
    assert "metrics-token" in ancestors("prometheus")


def test_conditions_fit_the_service_waited_for() -> None:
    for name in SERVICES:
        for dependency, rule in dependencies(name).items():
            condition = rule["condition"]
            if dependency in ONE_SHOTS:
                assert condition == "service_completed_successfully", f"{name} on {dependency}"
            else:
                assert condition != "service_completed_successfully", f"{name} on {dependency}"
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{dependency} has no healthcheck"


def test_configuration_comes_from_env_example() -> None:
    listed = env_example()
    assert set(listed) == set(VARIABLES), "every variable once, and nothing the app does not read"
    for name in APP_SERVICES:
        service = SERVICES[name]
        paths = [entry["path"] for entry in service["env_file"]]
        assert paths[0] == ".env.example", name
        assert "METRICS_TOKEN" not in service.get("environment", {}), "from the env_file"
    assert listed["DEBUG"] == "false"
    assert listed["METRICS_TOKEN"]


def test_debug_only_where_the_sandbox_runs() -> None:
    for name in APP_SERVICES:
        debug = SERVICES[name].get("environment", {}).get("DEBUG")
        sandbox = name.startswith("sandbox")
        assert (debug == "true") == sandbox, f"{name}: DEBUG {debug}"


def test_app_services_send_traces_to_jaeger() -> None:
    names = {"web": "smartapp-web", "worker": "smartapp-worker", "beat": "smartapp-beat"}
    for name, service_name in names.items():
        environment = SERVICES[name]["environment"]
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
        assert environment["OTEL_SERVICE_NAME"] == service_name
    assert SERVICES["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert "web" in SERVICES["web"]["environment"]["ALLOWED_HOSTS"].split(","), "the scrapes"


def published(service: str, container_port: int) -> str:
    """The browser's origin of `container_port` in `service` (or its namespace's owner)."""
    mode = SERVICES[service].get("network_mode", "")
    owner = mode.split(":", 1)[1] if mode.startswith("service:") else service
    for entry in SERVICES[owner].get("ports", []):
        host, host_port, port = str(entry).rsplit(":", 2)
        if int(port) == container_port:
            return f"http://{host}:{host_port}"
    raise AssertionError(f"{service}: port {container_port} is not published")


def test_the_sandbox_issuer_is_its_browser_origin() -> None:
    """The app accepts plain http only to loopback (smart/url_policy.py): the sandbox shares
    web's network namespace, so 127.0.0.1:9000 is the same sandbox for the app and the browser."""
    port = int(argv(SERVICES["sandbox"])[argv(SERVICES["sandbox"]).index("--addr") + 1][-4:])
    seed = argv(SERVICES["sandbox-seed"])
    assert seed[seed.index("--origin") + 1] == published("sandbox", port) == "http://127.0.0.1:9000"
    assert SERVICES["worker"]["network_mode"] == "service:web", "revocation reaches the sandbox"


def mounts(name: str) -> dict[str, str]:
    """Container path -> source of each of the service's volumes."""
    pairs = (str(volume).split(":")[:2] for volume in SERVICES[name].get("volumes", []))
    return {target: source for source, target in pairs}


def test_mounted_files_exist() -> None:
    named = set(COMPOSE.get("volumes", {}))
    for name in SERVICES:
        for source in mounts(name).values():
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"
            else:
                assert source in named, f"{name}: unknown volume {source}"


def test_prometheus_scrapes_the_app_with_the_token() -> None:
    mounted = mounts("prometheus")
    assert mounted["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    for rule_file in PROMETHEUS["rule_files"]:
        assert mounted[rule_file] == "./deploy/prometheus/alerts.yml"
    job = next(j for j in PROMETHEUS["scrape_configs"] if j["job_name"] == "smartapp-web")
    assert job["static_configs"][0]["targets"] == ["web:8000"]
    assert job["metrics_path"] == "/metrics"
    credentials = Path(job["authorization"]["credentials_file"])
    volume = mounted[str(credentials.parent)]
    written = Path(argv(SERVICES["metrics-token"])[-1])
    assert mounts("metrics-token")[str(written.parent)] == volume
    assert written.name == credentials.name


def test_grafana_is_provisioned() -> None:
    mounted = mounts("grafana")
    provisioning = ROOT / mounted["/etc/grafana/provisioning"]
    sources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    source = sources["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards/smartapp.yml").read_text())
    directory = providers["providers"][0]["options"]["path"]
    assert mounted[f"{directory}/smartapp.json"] == "./deploy/grafana/smartapp.json"
    for panel in DASHBOARD["panels"]:
        assert panel.get("datasource", {"uid": source["uid"]})["uid"] == source["uid"]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, matchers, ranges and
    groupings removed; what is left that is not a function, keyword or number)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    keywords = {"and", "or", "unless", "bool", "offset", "by", "without"}
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", text)) - keywords
    return {re.sub(r"_(bucket|sum|count)$", "", n) if n not in METRICS else n for n in names}


def test_metric_names_reader() -> None:
    expr = 'sum by (le) (rate(smartapp_fhir_request_seconds_bucket{a="b(c)"}[5m])) > bool 3'
    assert metric_names(expr) == {"smartapp_fhir_request_seconds"}


def github_anchors(markdown: str) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_alert_rules() -> None:
    rules = [rule for group in ALERTS["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} >= ALERT_NAMES
    anchors = github_anchors(README)
    for rule in rules:
        name = rule["alert"]
        assert {"expr", "for", "labels", "annotations"} <= set(rule), name
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"]), name
        assert rule["annotations"]["runbook_url"] == f"README.md#runbook-{name.lower()}"
        assert f"runbook-{name.lower()}" in anchors, f"README has no runbook for {name}"
        assert metric_names(rule["expr"]) <= METRICS, name
        assert rule["expr"].count("(") == rule["expr"].count(")"), name


def test_dashboard() -> None:
    rows = [panel["title"] for panel in DASHBOARD["panels"] if panel["type"] == "row"]
    assert rows == ["Journeys", "Upstream by connection", "Tokens", "Errors"]
    (variable,) = DASHBOARD["templating"]["list"]
    assert variable["name"] == "connection"
    assert variable["query"]["query"].startswith("label_values(")
    exprs = [t["expr"] for p in DASHBOARD["panels"] for t in p.get("targets", [])]
    assert len(exprs) > 15
    for expr in exprs:
        assert metric_names(expr) <= METRICS, expr
        assert expr.count("(") == expr.count(")"), expr
    assert "Reading the dashboards" in README


def test_gunicorn_hooks_keep_the_multiprocess_directory(tmp_path: Path, monkeypatch) -> None:
    from config import gunicorn

    directory = tmp_path / "metrics"
    (directory / "old").mkdir(parents=True)
    (directory / "counter_123.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    gunicorn.on_starting(server=None)
    assert directory.is_dir()
    assert list(directory.iterdir()) == [], "a previous run's values are not counted again"
    (directory / "gauge_liveall_123.db").write_bytes(b"")
    gunicorn.child_exit(server=None, worker=type("Worker", (), {"pid": 123})())
    assert not (directory / "gauge_liveall_123.db").exists(), "a dead worker's live gauges go"
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    gunicorn.on_starting(server=None)  # without the variable: nothing to do
