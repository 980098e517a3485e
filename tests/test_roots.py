"""Job roots compared as places: folded, resolved through symlinks, checked again at run
time; `/` and the data directory refused; a missing local root touches nothing."""

import os

import pytest

from strmsync.service.tasks import perform_run
from tests.conftest import make_files, tree


@pytest.fixture
def lib(client, tmp_path):
    """A local source over /srv-like `tmp/srv` with its library in `srv/media`."""
    make_files(tmp_path / "srv/media", {"Film/Film.mkv": "v"})
    answer = client.post("/api/v1/sources", json={"name": "srv", "kind": "local",
                                                   "root": str(tmp_path / "srv")})
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def job_body(source, source_root, target_root, **extra):
    return {"name": "movies", "source": source, "source_root": str(source_root),
            "target_root": str(target_root), **extra}


@pytest.mark.parametrize("spelling", ["/{t}/srv", "//{t}/srv", "/{t}/./srv", "/{t}//srv/",
                                      "/{t}/srv/media", "/{t}/srv/media/strm",
                                      "/{t}/srv/./media//strm"])
def test_a_target_over_or_inside_the_source_is_refused_however_written(client, lib, tmp_path,
                                                                      spelling):
    target = spelling.format(t=str(tmp_path).lstrip("/"))
    answer = client.post("/api/v1/jobs", json=job_body(lib, tmp_path / "srv/media", target))
    assert answer.status_code == 400, answer.json
    assert answer.json["errors"]["target_root"].startswith("must not overlap the source root")
    assert client.get("/api/v1/jobs").json["jobs"] == []


def test_a_target_reaching_into_the_source_through_a_symlink_is_refused(client, lib,
                                                                         tmp_path):
    os.symlink(tmp_path / "srv/media", tmp_path / "shortcut")
    answer = client.post("/api/v1/jobs", json=job_body(lib, tmp_path / "srv/media",
                                                       tmp_path / "shortcut/strm"))
    assert answer.status_code == 400
    assert "leads to" in answer.json["errors"]["target_root"]


@pytest.mark.parametrize("target", ["/", "//", "/./", "/tmp/.."])
def test_the_whole_file_system_is_never_a_target(client, lib, tmp_path, target):
    answer = client.post("/api/v1/jobs", json=job_body(lib, tmp_path / "srv/media", target))
    assert answer.status_code == 400 and "target_root" in answer.json["errors"]


def test_the_data_directory_is_never_a_target(client, lib, tmp_path, data_dir):
    for target in (data_dir, data_dir / "strm", data_dir.parent):
        answer = client.post("/api/v1/jobs", json=job_body(lib, tmp_path / "srv/media", target))
        assert answer.status_code == 400, target
        assert "data directory" in answer.json["errors"]["target_root"]


def test_roots_are_stored_folded(client, lib, tmp_path):
    answer = client.post("/api/v1/jobs", json=job_body(
        lib, f"{tmp_path}//srv/./media/", f"/{tmp_path}/./out//strm/"))
    assert answer.status_code == 201, answer.json
    assert answer.json["source_root"] == f"{tmp_path}/srv/media"
    assert answer.json["target_root"] == f"{tmp_path}/out/strm"


def test_a_symlink_made_after_saving_stops_the_run_before_it_writes(client, lib, tmp_path,
                                                                    store, redis_conn):
    job = client.post("/api/v1/jobs", json=job_body(lib, tmp_path / "srv/media",
                                                    tmp_path / "out")).json
    os.symlink(tmp_path / "srv/media", tmp_path / "out")  # the target now leads into the source
    run_id = client.post(f"/api/v1/jobs/{job['id']}/run").json["run_id"]
    assert perform_run(store, redis_conn, run_id) == "failed"
    run = store.run(run_id)
    assert "overlaps the source root" in run["error"] and "nothing was changed" in run["error"]
    assert tree(tmp_path / "srv/media") == {"Film/Film.mkv": b"v"}


def test_a_missing_local_root_is_accepted_with_a_warning_and_its_run_touches_nothing(
        client, tmp_path, store, redis_conn):
    gone = tmp_path / "mnt/cloud"  # a mount that is down
    source = client.post("/api/v1/sources", json={"name": "cloud", "kind": "local",
                                                   "root": str(gone)})
    assert source.status_code == 201 and "does not exist now" in source.json["warnings"][0]
    job = client.post("/api/v1/jobs", json=job_body(source.json["id"], gone / "Movies",
                                                    tmp_path / "strm"))
    assert job.status_code == 201 and "does not exist now" in job.json["warnings"][0]
    run_id = client.post(f"/api/v1/jobs/{job.json['id']}/run").json["run_id"]
    assert perform_run(store, redis_conn, run_id) == "failed"
    assert "is the mount down?" in store.run(run_id)["error"]
    assert not (tmp_path / "strm").exists()
