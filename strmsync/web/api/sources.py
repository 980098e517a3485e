"""`/api/v1/sources`: create, list, edit, delete and test sources."""

from strmsync.service.kinds import test_source
from strmsync.sources import public_source, source_warnings, validate_source
from strmsync.web.api import api, json_body
from strmsync.web.context import get_store
from strmsync.web.errors import ApiError


def _source_or_404(key) -> dict:
    source = get_store().source(key)
    if source is None:
        raise ApiError(404, f"no such source: {key}")
    return source


def _name_free(name: str, own_id: int | None = None) -> None:
    other = get_store().source(name)
    if other is not None and other["id"] != own_id:
        raise ApiError(409, f"name: a source called {name!r} exists")


@api.get("/sources")
def list_sources():
    return {"sources": [public_source(row) for row in get_store().sources()]}


def _shown(source_id: int, values: dict) -> dict:
    shown = public_source(get_store().source(source_id))
    warnings = source_warnings(values)
    return {**shown, "warnings": warnings} if warnings else shown


@api.post("/sources")
def add_source():
    values = validate_source(json_body())
    _name_free(values["name"])
    return _shown(get_store().add_source(values), values), 201


@api.get("/sources/<int:source_id>")
def show_source(source_id: int):
    return public_source(_source_or_404(source_id))


@api.route("/sources/<int:source_id>", methods=["PUT", "PATCH"])
def edit_source(source_id: int):
    values = validate_source(json_body(), _source_or_404(source_id))
    _name_free(values["name"], source_id)
    get_store().update_source(source_id, values)
    return _shown(source_id, values)


@api.delete("/sources/<int:source_id>")
def delete_source(source_id: int):
    _source_or_404(source_id)
    users = [job["name"] for job in get_store().jobs(source_id)]
    if users:
        raise ApiError(409, f"source is used by job(s): {', '.join(users)}")
    get_store().delete_source(source_id)
    return "", 204


@api.post("/sources/<int:source_id>/test")
def check_source(source_id: int):
    return {"ok": True, **test_source(_source_or_404(source_id))}
