"""The stand-ins answer raw HTTP and gRPC calls in OpenList's and CloudDrive2's wire formats."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timezone
from pathlib import Path
from urllib.parse import quote

import grpc
import pytest
import requests
from clouddrive2_client.proto import clouddrive_pb2 as pb
from clouddrive2_client.proto import clouddrive_pb2_grpc as pb_grpc
from google.protobuf import empty_pb2

from tests.standins import ADMIN, CloudDrive2StandIn, OpenListStandIn, User

AWKWARD = "a ? # % & + ; 中文 🎬 x.mkv"
FILM0_MTIME_NS = 1_700_000_000_123_456_789
TIMEOUT = 5


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A storage root holding /115open/Movies (six files) and an empty /115open/Empty."""
    movies = tmp_path / "storage" / "115open" / "Movies"
    movies.mkdir(parents=True)
    (movies.parent / "Empty").mkdir()
    (movies / AWKWARD).write_bytes(b"awkward bytes")
    for number in range(5):
        (movies / f"film{number}.mkv").write_bytes(b"x" * (number + 1))
    os.utime(movies / "film0.mkv", ns=(FILM0_MTIME_NS, FILM0_MTIME_NS))
    return tmp_path / "storage"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A requests session, closed after the test."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def openlist(library: Path) -> Iterator[OpenListStandIn]:
    """An OpenList stand-in with an admin and a user whose base_path is /115open."""
    users = [User("admin", "adminpw", "/", ADMIN), User("alice", "alicepw", "/115open")]
    with OpenListStandIn(library, users=users) as server:
        yield server


@pytest.fixture
def alice(openlist: OpenListStandIn, http: requests.Session) -> str:
    """A session token for alice."""
    return call(http, openlist, "/api/auth/login", None, username="alice", password="alicepw")[
        "data"
    ]["token"]


def call(
    http: requests.Session, server: OpenListStandIn, route: str, token: str | None, **body: object
) -> dict:
    """Call an OpenList API route (GET when there is no body) and return the decoded envelope."""
    headers = {} if token is None else {"Authorization": token}
    if body:
        answer = http.post(server.url + route, json=body, headers=headers, timeout=TIMEOUT)
    else:
        answer = http.get(server.url + route, headers=headers, timeout=TIMEOUT)
    assert answer.status_code == 200
    return answer.json()


def expected_sign(secret: str, path: str, expire: int = 0) -> str:
    """The documented alist sign: base64url(HMAC-SHA256(secret, "path:expire")) + ":expire"."""
    mac = hmac.new(secret.encode(), f"{path}:{expire}".encode(), hashlib.sha256).digest()
    return f"{base64.urlsafe_b64encode(mac).decode()}:{expire}"


def d_url(server: OpenListStandIn, abs_path: str, sign: str | None) -> str:
    """Build a /d/ link with each path segment escaped on its own."""
    escaped = "/".join(quote(segment, safe="") for segment in abs_path.split("/"))
    return f"{server.url}/d{escaped}" + ("" if sign is None else f"?sign={sign}")


# --- OpenList: auth ---------------------------------------------------------------------------


def test_login_returns_a_token_and_me_reports_the_base_path(openlist, http):
    refused = call(http, openlist, "/api/auth/login", None, username="alice", password="wrong")
    token = call(http, openlist, "/api/auth/login", None, username="alice", password="alicepw")[
        "data"
    ]["token"]

    me = call(http, openlist, "/api/me", token)

    assert refused["code"] == 401 and refused["data"] is None
    assert me["code"] == 200 and me["message"] == "success"
    assert me["data"]["username"] == "alice" and me["data"]["base_path"] == "/115open"


def test_raw_admin_token_is_accepted_and_missing_token_is_refused(openlist, http):
    assert call(http, openlist, "/api/me", openlist.admin_token)["data"]["base_path"] == "/"
    assert call(http, openlist, "/api/me", None)["code"] == 401
    assert call(http, openlist, "/api/me", f"Bearer {openlist.admin_token}")["code"] == 401


def test_issued_token_expires_after_its_uses_and_login_renews_it(openlist, http):
    openlist.tokens.uses = 2
    token = call(http, openlist, "/api/auth/login", None, username="alice", password="alicepw")[
        "data"
    ]["token"]

    codes = [call(http, openlist, "/api/me", token)["code"] for _ in range(3)]
    renewed = call(http, openlist, "/api/auth/login", None, username="alice", password="alicepw")[
        "data"
    ]["token"]

    assert codes == [200, 200, 401]
    assert call(http, openlist, "/api/me", renewed)["code"] == 200


def test_expire_all_invalidates_issued_tokens(openlist, http, alice):
    openlist.tokens.expire_all()

    answer = call(http, openlist, "/api/me", alice)

    assert (answer["code"], answer["message"]) == (401, "token is expired")


# --- OpenList: listing ------------------------------------------------------------------------


def test_list_pages_through_a_folder(openlist, http, alice):
    pages = [
        call(http, openlist, "/api/fs/list", alice, path="/Movies", page=page, per_page=4)["data"]
        for page in (1, 2, 3)
    ]

    assert [len(page["content"] or []) for page in pages] == [4, 2, 0]
    assert [page["total"] for page in pages] == [6, 6, 6]
    assert pages[2]["content"] is None
    assert pages[0]["content"][0]["name"] == AWKWARD


def test_per_page_zero_lists_everything(openlist, http, alice):
    data = call(http, openlist, "/api/fs/list", alice, path="/Movies", page=1, per_page=0)["data"]

    assert len(data["content"]) == data["total"] == 6
    assert {"readme", "header", "write", "provider"} <= data.keys()


def test_empty_folder_lists_content_null(openlist, http, alice):
    data = call(http, openlist, "/api/fs/list", alice, path="/Empty", page=1, per_page=0)["data"]

    assert data["content"] is None and data["total"] == 0


def test_list_items_carry_real_sizes_times_and_signs_over_the_full_path(openlist, http, alice):
    content = call(http, openlist, "/api/fs/list", alice, path="/", per_page=0)["data"]["content"]
    films = call(http, openlist, "/api/fs/list", alice, path="/Movies", per_page=0)["data"][
        "content"
    ]
    film0 = next(item for item in films if item["name"] == "film0.mkv")

    assert [(item["name"], item["is_dir"], item["sign"]) for item in content] == [
        ("Empty", True, ""),
        ("Movies", True, ""),
    ]
    assert (film0["size"], film0["is_dir"], film0["type"]) == (1, False, 2)
    assert film0["modified"] == "2023-11-15T06:13:20.123456789+08:00"
    assert film0["sign"] == expected_sign(openlist.admin_token, "/115open/Movies/film0.mkv")
    assert {"created", "thumb", "hash_info"} <= film0.keys()


def test_list_counts_calls_per_path_and_records_refresh(openlist, http, alice):
    call(http, openlist, "/api/fs/list", alice, path="/Movies", refresh=False)
    call(http, openlist, "/api/fs/list", alice, path="/Movies/", refresh=True)

    assert openlist.traffic.calls["fs/list"] == 2
    assert openlist.traffic.list_calls["/Movies"] == 2
    assert openlist.traffic.refreshed == ["/Movies"]


def test_missing_folder_fails_and_relative_paths_are_refused(openlist, http, alice):
    missing = call(http, openlist, "/api/fs/list", alice, path="/Nope")
    escaping = call(http, openlist, "/api/fs/list", alice, path="/Movies/../..")

    assert (missing["code"], missing["data"]) == (500, None)
    assert escaping["code"] == 403


def test_fs_get_returns_one_item_with_a_working_raw_url(openlist, http, alice):
    data = call(http, openlist, "/api/fs/get", alice, path=f"/Movies/{AWKWARD}")["data"]

    assert data["name"] == AWKWARD and data["size"] == len(b"awkward bytes")
    assert http.get(data["raw_url"], timeout=TIMEOUT).content == b"awkward bytes"
    assert call(http, openlist, "/api/fs/get", alice, path="/Movies/nope.mkv")["code"] == 500


# --- OpenList: /d/ links and signs ------------------------------------------------------------


def test_awkward_name_downloads_through_d_with_the_listed_sign(openlist, http, alice):
    films = call(http, openlist, "/api/fs/list", alice, path="/Movies", per_page=0)["data"][
        "content"
    ]
    item = next(item for item in films if item["name"] == AWKWARD)

    answer = http.get(d_url(openlist, f"/115open/Movies/{AWKWARD}", item["sign"]), timeout=TIMEOUT)

    assert answer.status_code == 200 and answer.content == b"awkward bytes"


@pytest.mark.parametrize(
    "sign",
    [
        None,
        "",
        "bm90IGEgc2lnbg==:0",
        expected_sign("openlist-standin-admin-token", f"/Movies/{AWKWARD}"),
        expected_sign(
            "openlist-standin-admin-token", f"/115open/Movies/{AWKWARD}", int(time.time()) - 60
        ),
    ],
    ids=["missing", "empty", "wrong", "without-base-path", "expired"],
)
def test_bad_signs_are_rejected_with_401(openlist, http, sign):
    answer = http.get(d_url(openlist, f"/115open/Movies/{AWKWARD}", sign), timeout=TIMEOUT)

    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("text/html")


def test_unexpired_sign_with_expiry_is_accepted(openlist, http):
    sign = expected_sign(openlist.admin_token, "/115open/Movies/film1.mkv", int(time.time()) + 600)

    assert (
        http.get(d_url(openlist, "/115open/Movies/film1.mkv", sign), timeout=TIMEOUT).content
        == b"xx"
    )


def test_no_sign_needed_when_signing_is_off(openlist, http, alice):
    openlist.sign_all = False
    films = call(http, openlist, "/api/fs/list", alice, path="/Movies", per_page=0)["data"][
        "content"
    ]

    answer = http.get(d_url(openlist, f"/115open/Movies/{AWKWARD}", None), timeout=TIMEOUT)

    assert {item["sign"] for item in films} == {""}
    assert answer.content == b"awkward bytes"


def test_download_honours_a_range(openlist, http):
    url = openlist.link("/115open/Movies/film4.mkv")

    answer = http.get(url, headers={"Range": "bytes=1-2"}, timeout=TIMEOUT)

    assert answer.status_code == 206 and answer.content == b"xx"
    assert answer.headers["Content-Range"] == "bytes 1-2/5"


# --- OpenList: faults, latency, counters ------------------------------------------------------


def test_fail_path_fails_only_that_path(openlist, http, alice):
    openlist.faults.fail_path("/Movies")

    failed = call(http, openlist, "/api/fs/list", alice, path="/Movies")
    other = call(http, openlist, "/api/fs/list", alice, path="/Empty")

    assert failed["code"] == 500 and failed["message"]
    assert other["code"] == 200


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "code", "message"),
    [
        ("http429", 429, "text/html", None, None),
        ("html", 200, "text/html", None, None),
        ("http502", 502, "text/html", None, None),
        ("code429", 200, "application/json", 429, "too many requests"),
        ("empty_message", 200, "application/json", 500, ""),
    ],
)
def test_throttle_answers_the_way_proxies_and_openlist_do(
    openlist, http, alice, kind, status, content_type, code, message
):
    openlist.faults.throttle(kind, times=1)

    answer = http.post(
        openlist.url + "/api/fs/list",
        json={"path": "/"},
        headers={"Authorization": alice},
        timeout=TIMEOUT,
    )
    after = call(http, openlist, "/api/fs/list", alice, path="/")

    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith(content_type)
    if code is not None:
        assert (answer.json()["code"], answer.json()["message"]) == (code, message)
    assert after["code"] == 200


def test_list_empty_answers_null_for_the_next_calls_only(openlist, http, alice):
    openlist.faults.list_empty("/Movies", times=2)

    totals = [
        call(http, openlist, "/api/fs/list", alice, path="/Movies")["data"]["total"]
        for _ in range(3)
    ]

    assert totals == [0, 0, 6]


def test_fail_after_lets_k_calls_through_then_fails_every_call(openlist, http, alice):
    openlist.faults.fail_after(2)

    codes = [call(http, openlist, "/api/fs/list", alice, path="/")["code"] for _ in range(4)]

    assert codes == [200, 200, 500, 500]


def test_drop_closes_the_connection_without_an_answer(openlist, http, alice):
    openlist.faults.throttle("drop")

    with pytest.raises(requests.ConnectionError):
        http.post(
            openlist.url + "/api/fs/list",
            json={"path": "/"},
            headers={"Authorization": alice},
            timeout=TIMEOUT,
        )


def test_latency_applies_to_every_call_and_peak_concurrency_is_measured(openlist, alice):
    openlist.faults.latency = 0.2

    def list_root(_: int) -> int:
        with requests.Session() as session:
            answer = session.post(
                openlist.url + "/api/fs/list",
                json={"path": "/"},
                headers={"Authorization": alice},
                timeout=TIMEOUT,
            )
            return answer.json()["code"]

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(list_root, range(4)))
    elapsed = time.monotonic() - started

    assert codes == [200] * 4
    assert elapsed >= 0.2
    assert openlist.traffic.peak_in_flight >= 2


def test_request_log_keeps_method_path_body_and_raw_authorization(openlist, http, alice):
    call(
        http,
        openlist,
        "/api/fs/list",
        alice,
        path="/Movies",
        password="",
        page=1,
        per_page=0,
        refresh=False,
    )

    logged = openlist.traffic.calls_to("fs/list")[-1]

    assert (logged.method, logged.target) == ("POST", "/api/fs/list")
    assert logged.body == {
        "path": "/Movies",
        "password": "",
        "page": 1,
        "per_page": 0,
        "refresh": False,
    }
    assert logged.headers["Authorization"] == alice


# --- CloudDrive2 ------------------------------------------------------------------------------


@pytest.fixture
def cd2(library: Path) -> Iterator[CloudDrive2StandIn]:
    """A CloudDrive2 stand-in over the library, listing in batches of 10."""
    with CloudDrive2StandIn(library, batch_size=10) as server:
        yield server


@pytest.fixture
def big(library: Path) -> str:
    """A folder of 25 files, /115open/Big."""
    folder = library / "115open" / "Big"
    folder.mkdir()
    for number in range(25):
        (folder / f"ep{number:03d}.mkv").write_bytes(b"e")
    return "/115open/Big"


@pytest.fixture
def stub(cd2: CloudDrive2StandIn) -> Iterator[pb_grpc.CloudDriveFileSrvStub]:
    """A gRPC stub on the stand-in's single port."""
    with grpc.insecure_channel(cd2.address) as channel:
        yield pb_grpc.CloudDriveFileSrvStub(channel)


@pytest.fixture
def auth(cd2: CloudDrive2StandIn) -> list[tuple[str, str]]:
    """Call metadata carrying the API token."""
    return [("authorization", f"Bearer {cd2.api_token}")]


def list_folder(stub, auth, path: str) -> list[pb.SubFilesReply]:
    """Read a GetSubFiles stream to its end."""
    return list(stub.GetSubFiles(pb.ListSubFileRequest(path=path), metadata=auth, timeout=TIMEOUT))


def status_of(action) -> grpc.StatusCode:
    """Run `action` and return the status code of the RpcError it raises."""
    with pytest.raises(grpc.RpcError) as raised:
        action()
    return raised.value.code()


def test_system_info_needs_no_token(stub):
    info = stub.GetSystemInfo(empty_pb2.Empty(), timeout=TIMEOUT)

    assert info.SystemReady and info.IsLogin


@pytest.mark.parametrize(
    "metadata",
    [[], [("authorization", "Bearer nope")], [("authorization", "cd2-standin-api-token")]],
)
def test_calls_without_a_valid_bearer_token_are_unauthenticated(stub, metadata):
    code = status_of(lambda: list_folder(stub, metadata, "/115open"))

    assert code == grpc.StatusCode.UNAUTHENTICATED


def test_get_token_issues_a_jwt_that_expires_after_its_uses(cd2, stub):
    cd2.tokens.uses = 1
    refused = stub.GetToken(
        pb.GetTokenRequest(userName=cd2.username, password="wrong"), timeout=TIMEOUT
    )
    granted = stub.GetToken(
        pb.GetTokenRequest(userName=cd2.username, password=cd2.password), timeout=TIMEOUT
    )
    bearer = [("authorization", f"Bearer {granted.token}")]

    first = list_folder(stub, bearer, "/115open")
    second = status_of(lambda: list_folder(stub, bearer, "/115open"))

    assert not refused.success and refused.errorMessage
    assert granted.success and granted.token.count(".") == 2
    assert granted.expiration.seconds > time.time()
    assert first and second == grpc.StatusCode.UNAUTHENTICATED


def test_sub_files_stream_in_batches_with_real_file_facts(cd2, stub, auth, big):
    replies = list_folder(stub, auth, "/115open/Big/")
    movies = [f for reply in list_folder(stub, auth, "/115open/Movies") for f in reply.subFiles]
    film0 = next(f for f in movies if f.name == "film0.mkv")

    assert [len(reply.subFiles) for reply in replies] == [10, 10, 5]
    assert replies[0].subFiles[0].fullPathName == "/115open/Big/ep000.mkv"
    assert (film0.size, film0.isDirectory, film0.fullPathName) == (
        1,
        False,
        "/115open/Movies/film0.mkv",
    )
    assert film0.writeTime.ToNanoseconds() == FILM0_MTIME_NS
    assert film0.id and film0.createTime.seconds > 0


def test_missing_folder_is_not_found(stub, auth):
    assert status_of(lambda: list_folder(stub, auth, "/115open/Nope")) == grpc.StatusCode.NOT_FOUND


def test_find_file_by_path_takes_a_full_path_or_a_parent_and_name(stub, auth):
    full = stub.FindFileByPath(
        pb.FindFileByPathRequest(parentPath="", path="/115open/Movies"),
        metadata=auth,
        timeout=TIMEOUT,
    )
    by_parent = stub.FindFileByPath(
        pb.FindFileByPathRequest(parentPath="/115open", path="Movies"),
        metadata=auth,
        timeout=TIMEOUT,
    )
    missing = status_of(
        lambda: stub.FindFileByPath(
            pb.FindFileByPathRequest(path="/115open/nope"), metadata=auth, timeout=TIMEOUT
        )
    )

    assert full.isDirectory and full.fullPathName == by_parent.fullPathName == "/115open/Movies"
    assert missing == grpc.StatusCode.NOT_FOUND


def test_download_url_path_has_placeholders_and_is_served_on_the_same_port(cd2, stub, auth, http):
    path = f"/115open/Movies/{AWKWARD}"
    info = stub.GetDownloadUrlPath(
        pb.GetDownloadUrlPathRequest(path=path), metadata=auth, timeout=TIMEOUT
    )
    filled = info.downloadUrlPath.replace("{SCHEME}", "http").replace("{HOST}", cd2.address)

    answer = http.get(
        f"http://{cd2.address}{filled.replace('{PREVIEW}', 'false')}", timeout=TIMEOUT
    )
    unfilled = http.get(f"http://{cd2.address}{info.downloadUrlPath}", timeout=TIMEOUT)

    assert info.downloadUrlPath.startswith("/static/{SCHEME}/{HOST}/{PREVIEW}/115open/Movies/")
    assert answer.status_code == 200 and answer.content == b"awkward bytes"
    assert unfilled.status_code == 400
    assert cd2.download_url(path) == f"http://{cd2.address}{filled.replace('{PREVIEW}', 'false')}"


def test_push_message_streams_file_system_changes(cd2, stub, auth):
    stream = stub.PushMessage(empty_pb2.Empty(), metadata=auth, timeout=TIMEOUT)
    # The call starts lazily; reading from it in a thread opens it while we wait to push.
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(next, stream)
        assert cd2.wait_for_subscribers(1)
        cd2.push_change("RENAME", "/115open/Movies/old.mkv", "/115open/Movies/film1.mkv")
        message = first.result(timeout=TIMEOUT)
    stream.cancel()

    change = message.fileSystemChange
    assert message.messageType == pb.CloudDrivePushMessage.FILE_SYSTEM_CHANGE
    assert change.changeType == pb.FileSystemChange.RENAME
    assert (change.path, change.newPath) == ("/115open/Movies/old.mkv", "/115open/Movies/film1.mkv")
    assert change.theFile.size == 2


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("unavailable", grpc.StatusCode.UNAVAILABLE),
        ("resource_exhausted", grpc.StatusCode.RESOURCE_EXHAUSTED),
        ("internal", grpc.StatusCode.INTERNAL),
    ],
)
def test_fail_path_answers_the_chosen_status_for_that_path_only(cd2, stub, auth, big, kind, code):
    cd2.faults.fail_path("/115open/Movies", kind)

    assert status_of(lambda: list_folder(stub, auth, "/115open/Movies")) == code
    assert list_folder(stub, auth, "/115open/Big")


def test_throttle_then_recover(cd2, stub, auth):
    cd2.faults.throttle(times=1)

    first = status_of(lambda: list_folder(stub, auth, "/115open"))

    assert first == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert list_folder(stub, auth, "/115open")


def test_slow_call_runs_into_the_client_deadline(cd2, stub, auth):
    cd2.deadline_sleep = 0.3
    cd2.faults.throttle("deadline")

    code = status_of(
        lambda: stub.FindFileByPath(
            pb.FindFileByPathRequest(path="/115open"), metadata=auth, timeout=0.1
        )
    )

    assert code == grpc.StatusCode.DEADLINE_EXCEEDED


def test_list_empty_streams_nothing_for_the_next_calls(cd2, stub, auth, big):
    cd2.faults.list_empty("/115open/Big", times=1)

    sizes = [
        sum(len(r.subFiles) for r in list_folder(stub, auth, "/115open/Big")) for _ in range(2)
    ]

    assert sizes == [0, 25]


def test_break_fails_the_stream_after_its_first_batch(cd2, stub, auth, big):
    cd2.faults.fail("break", path="/115open/Big", times=1)
    stream = stub.GetSubFiles(
        pb.ListSubFileRequest(path="/115open/Big"), metadata=auth, timeout=TIMEOUT
    )

    first = next(stream)
    rest = status_of(lambda: next(stream))

    assert len(first.subFiles) == 10 and rest == grpc.StatusCode.UNAVAILABLE


def test_fail_after_and_counters(cd2, stub, auth):
    cd2.faults.fail_after(2)

    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(len(list_folder(stub, auth, "/115open/Movies")))
        except grpc.RpcError as error:
            outcomes.append(error.code())

    assert outcomes == [1, 1, grpc.StatusCode.UNAVAILABLE]
    assert cd2.traffic.calls["GetSubFiles"] == 3
    assert cd2.traffic.list_calls["/115open/Movies"] == 2


def test_latency_and_peak_concurrency(cd2, stub, auth):
    cd2.faults.latency = 0.2

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: list_folder(stub, auth, "/115open"), range(4)))
    elapsed = time.monotonic() - started

    assert all(results)
    assert elapsed >= 0.2
    assert cd2.traffic.peak_in_flight >= 2


def test_log_records_request_and_metadata(cd2, stub, auth):
    list(
        stub.GetSubFiles(
            pb.ListSubFileRequest(path="/115open", forceRefresh=True),
            metadata=auth,
            timeout=TIMEOUT,
        )
    )

    logged = cd2.traffic.calls_to("GetSubFiles")[-1]

    assert logged.target == "/clouddrive.CloudDriveFileSrv/GetSubFiles"
    assert logged.body.path == "/115open" and logged.body.forceRefresh
    assert logged.headers["authorization"] == f"Bearer {cd2.api_token}"
    assert cd2.traffic.refreshed == ["/115open"]


def test_downloads_can_be_throttled_explicitly(cd2, http):
    cd2.faults.throttle("resource_exhausted", endpoint="static")

    throttled = http.get(cd2.download_url("/115open/Movies/film0.mkv"), timeout=TIMEOUT)
    served = http.get(cd2.download_url("/115open/Movies/film0.mkv"), timeout=TIMEOUT)

    assert (throttled.status_code, served.status_code, served.content) == (429, 200, b"x")


def test_utc_times_can_be_chosen_for_openlist(library, http):
    with OpenListStandIn(library, tz=timezone.utc) as server:
        films = call(
            http, server, "/api/fs/list", server.admin_token, path="/115open/Movies", per_page=0
        )
    film0 = next(item for item in films["data"]["content"] if item["name"] == "film0.mkv")

    assert film0["modified"] == "2023-11-14T22:13:20.123456789Z"
