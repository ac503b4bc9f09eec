"""/healthz, /metrics and /api/openapi.json."""
import socket

from openapi_spec_validator import validate


def test_healthz_reports_all_three_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "queue_redis": "ok", "cache_redis": "ok",
                                             "deliveries": "ok"}


def test_healthz_reports_a_dead_queue_redis_as_503(app_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        dead = f"redis://127.0.0.1:{port}/0"
    response = app_factory(REDIS_URL=dead).test_client().get("/healthz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["queue_redis"] == "down" and checks["database"] == "ok"
    assert str(port) not in response.get_data(as_text=True)  # no exception text (it named the port)


def test_metrics_is_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "# TYPE filmclub_cache_requests_total counter" in response.get_data(as_text=True)


def test_openapi_document_is_valid_and_lists_every_api_route(app, client):
    document = client.get("/api/openapi.json").get_json()
    validate(document)
    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.endpoint != "api.openapi_json":
            path = rule.rule.replace("<int:", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"
