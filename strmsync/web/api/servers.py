"""`/api/v1/mediaservers`: Emby/Jellyfin records, their jobs, a connection test, their users."""

from strmsync.mediaserver import list_users, test_server
from strmsync.servers import public_server, to_media_server, validate_server
from strmsync.web.api import api, json_body
from strmsync.web.context import get_store
from strmsync.web.errors import ApiError


def _server_or_404(server_id: int) -> dict:
    server = get_store().server(server_id)
    if server is None:
        raise ApiError(404, f"no such media server: {server_id}")
    return server


def _name_free(name: str, own_id: int | None = None) -> None:
    other = get_store().server(name)
    if other is not None and other["id"] != own_id:
        raise ApiError(409, f"name: a media server called {name!r} exists")


def _show(row: dict) -> dict:
    jobs = [job["name"] for job in get_store().jobs()
            if row["id"] in {s["id"] for s in get_store().job_servers(job["id"])}]
    return public_server(row, jobs)


@api.get("/mediaservers")
def list_servers():
    return {"mediaservers": [_show(row) for row in get_store().servers()]}


@api.post("/mediaservers")
def add_server():
    values = validate_server(json_body())
    _name_free(values["name"])
    return _show(get_store().server(get_store().add_server(values))), 201


@api.get("/mediaservers/<int:server_id>")
def show_server(server_id: int):
    return _show(_server_or_404(server_id))


@api.route("/mediaservers/<int:server_id>", methods=["PUT", "PATCH"])
def edit_server(server_id: int):
    values = validate_server(json_body(), _server_or_404(server_id))
    _name_free(values["name"], server_id)
    get_store().update_server(server_id, values)
    return _show(get_store().server(server_id))


@api.delete("/mediaservers/<int:server_id>")
def delete_server(server_id: int):
    _server_or_404(server_id)
    get_store().delete_server(server_id)
    return "", 204


@api.post("/mediaservers/<int:server_id>/test")
def check_server(server_id: int):
    return {"ok": True, **test_server(to_media_server(_server_or_404(server_id)))}


@api.get("/mediaservers/<int:server_id>/users")
def server_users(server_id: int):
    return {"users": list_users(to_media_server(_server_or_404(server_id)))}
