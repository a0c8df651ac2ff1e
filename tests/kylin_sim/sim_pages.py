"""Bodies the simulator sends: Tomcat error pages, Kylin JSON payloads, the UI page.

Shapes follow kylin-rest.md: ErrorResponse (s.2.1, s.2.2), user details
(s.4.2 E12), SQLResponse (s.4.3), JobInstance and build envelopes (s.4.4).
"""

from __future__ import annotations

import hashlib
import html
import time
import uuid

from sim_common import HTML, Response, fake_stacktrace, json_response

TOMCAT = "Apache Tomcat/8.5.86"
TOMCAT_TEXT = {
    401: ("Unauthorized", "The request has not been applied because it lacks valid "
          "authentication credentials for the target resource."),
    403: ("Forbidden", "The server understood the request but refuses to authorize it."),
    404: ("Not Found", "The origin server did not find a current representation for the "
          "target resource or is not willing to disclose that one exists."),
    405: ("Method Not Allowed", "The method received in the request-line is known by the "
          "origin server but not supported by the target resource."),
    500: ("Internal Server Error", "The server encountered an unexpected condition that "
          "prevented it from fulfilling the request."),
}


def now_ms() -> int:
    return int(time.time() * 1000)


def tomcat_page(status: int) -> Response:
    """Tomcat 8.5 ErrorReportValve page; never a WWW-Authenticate header (s.5.1)."""
    reason, description = TOMCAT_TEXT.get(status, ("Error", ""))
    title = f"HTTP Status {status} \u2013 {reason}"
    body = (
        f'<!doctype html><html lang="en"><head><title>{title}</title><style type="text/css">'
        "body {font-family:Tahoma,Arial,sans-serif;} h1, h2, h3, b {color:white;"
        "background-color:#525D76;} h1 {font-size:22px;} p {font-size:12px;} "
        ".line {height:1px;background-color:#525D76;border:none;}</style></head><body>"
        f'<h1>{title}</h1><hr class="line" /><p><b>Type</b> Status Report</p>'
        f"<p><b>Message</b> {reason}</p><p><b>Description</b> {description}</p>"
        f'<hr class="line" /><h3>{TOMCAT}</h3></body></html>'
    )
    resp = Response(status, body.encode("utf-8"), HTML)
    resp.headers.append(("Content-Language", "en"))
    return resp


def v4_error(status: int, msg: str, url: str, exception: str = None) -> Response:
    """2.x-4.x controller ErrorResponse (s.2.1)."""
    exc = exception or msg
    return json_response(status, {
        "code": "999", "data": None, "msg": msg, "exception": exc,
        "stacktrace": fake_stacktrace(exc), "url": url,
    }, "application/json;charset=UTF-8")


def v5_error(status: int, error_code: str, msg: str, url: str,
             exception: str = None, suggestion: str = None) -> Response:
    """5.x ErrorResponse with error_code and suggestion (s.2.2)."""
    exc = exception or msg
    return json_response(status, {
        "code": "999", "data": None, "msg": msg, "error_code": error_code,
        "suggestion": suggestion, "stacktrace": fake_stacktrace(exc),
        "exception": exc, "url": url,
    })


def spring_not_found(path: str) -> Response:
    """Spring Boot's default error JSON for an unmapped 5.x path."""
    return json_response(404, {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime()),
        "status": 404, "error": "Not Found", "path": path,
    })


def stable_uuid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.md5("/".join(parts).encode()).hexdigest()))


def v4_user_details(user) -> dict:
    """2.x-4.x ManagedUser as rendered under `userDetails` (E12)."""
    return {
        "username": user.name,
        "password": "$2a$10$o3ktIWsGYxXNuUWQiYlZXOW5hWcqyNAFQsSSCSEWoC/BRVMAUjL32",
        "authorities": user.authorities,
        "disabled": False, "defaultPassword": False, "locked": False,
        "lockedTime": 0, "wrongTime": 0,
        "uuid": stable_uuid("user", user.name),
        "last_modified": now_ms(), "version": "3.0.0.20500",
    }


def v5_user_data(user, version: str) -> dict:
    """5.x NUserController.authenticate data (E12)."""
    return {
        "username": user.name, "authorities": user.authorities,
        "disabled": False, "default_password": False, "locked": False,
        "uuid": stable_uuid("user", user.name), "last_modified": now_ms(),
        "create_time": 1700000000000, "version": version, "mvcc": 0,
        "locked_time": 0, "wrong_time": 0, "first_login_failed_time": 0,
    }


def column_meta(label: str, type_name: str, type_code: int) -> dict:
    return {
        "isNullable": 1, "displaySize": 256, "label": label, "name": label,
        "schemaName": None, "catelogName": None, "tableName": None,
        "precision": 256, "scale": 0, "columnType": type_code,
        "columnTypeName": type_name, "autoIncrement": False, "caseSensitive": True,
        "searchable": False, "currency": False, "definitelyWritable": False,
        "signed": True, "writable": False, "readOnly": True,
    }


def sql_response(node_name: str, sql: str, prepare: bool = False) -> dict:
    """2.x-4.x SQLResponse (s.4.3); the single row names the answering node."""
    return {
        "columnMetas": [column_meta("NODE", "VARCHAR", 12), column_meta("SQL", "VARCHAR", 12)],
        "results": [] if prepare else [[node_name, sql]],
        "cube": "CUBE[name=kylin_sales_cube]", "affectedRowCount": 0,
        "isException": False, "exceptionMessage": None, "duration": 3,
        "totalScanCount": 1, "totalScanBytes": 0, "hitExceptionCache": False,
        "storageCacheUsed": False, "pushDown": False, "traceUrl": None, "partial": False,
    }


def v5_sql_response(node_name: str, server: str, sql: str, prepare: bool = False) -> dict:
    """5.x SQLResponse (s.4.3): adds queryId, server, engineType, is_timeout."""
    data = sql_response(node_name, sql, prepare)
    data.update({
        "queryId": str(uuid.uuid4()), "server": server, "engineType": "NATIVE",
        "is_timeout": False, "is_prepare": prepare, "realizations": [],
    })
    return data


def job_instance(cube: str, action: str, user: str, job_id: str = None) -> dict:
    """2.x-4.x JobInstance (s.4.4)."""
    status = {"cancel": "DISCARDED", "pause": "STOPPED", "drop": "DISCARDED"}.get(action, "PENDING")
    return {
        "uuid": job_id or str(uuid.uuid4()), "last_modified": now_ms(), "version": "3.0.0.20500",
        "name": f"{action.upper()} CUBE - {cube} - {time.strftime('%Y%m%d%H%M%S')}",
        "projectName": "learn_kylin", "type": "BUILD", "duration": 0,
        "related_cube": cube, "display_cube_name": cube, "related_segment": str(uuid.uuid4()),
        "related_segment_name": "20120101000000_20130101000000", "exec_start_time": 0,
        "exec_end_time": 0, "exec_interrupt_time": 0, "mr_waiting": 0, "steps": [],
        "submitter": user, "job_status": status, "build_instance": "unknown", "progress": 0.0,
    }


def v5_jobs(job_name: str = "INC_BUILD") -> dict:
    """5.x build answer data (s.4.4)."""
    return {"jobs": [{"job_name": job_name, "job_id": str(uuid.uuid4())}]}


PROJECT = "learn_kylin"
V4_READS = {
    "projects": [{"uuid": stable_uuid("p", PROJECT), "name": PROJECT, "owner": "ADMIN",
                  "status": "ENABLED", "description": "", "realizations": []}],
    "cubes": [{"name": "kylin_sales_cube", "project": PROJECT, "status": "READY"}],
    "models": [{"name": "kylin_sales_model", "project": PROJECT}],
    "jobs": [],
    "tables": [{"name": "KYLIN_SALES", "database": "DEFAULT"}],
}
V5_READS = {
    "projects": [{"uuid": stable_uuid("p", PROJECT), "name": PROJECT, "owner": "ADMIN",
                  "status": "ENABLED", "maintain_model_type": "MANUAL_MAINTAIN"}],
    "models": [{"uuid": stable_uuid("m", "sales"), "name": "kylin_sales_model",
                "project": PROJECT, "status": "ONLINE"}],
    "jobs": [],
    "tables": [{"name": "KYLIN_SALES", "database": "DEFAULT"}],
}


def data_result(values: list) -> dict:
    """5.x paged DataResult."""
    return {"value": values, "offset": 0, "limit": 10, "total_size": len(values)}


# -- the UI page --------------------------------------------------------------
UI_SCRIPT = r"""
var PROFILE = "%(profile)s";
var ACCEPT = PROFILE === "v5" ? "application/vnd.apache.kylin-v4+json" : "application/json, text/plain, */*";
var authHeader = null;
function $(id) { return document.getElementById(id); }
function call(method, url, body, done, accept) {
  var x = new XMLHttpRequest();
  x.open(method, url);
  x.withCredentials = true;
  x.setRequestHeader("Accept", accept || ACCEPT);
  if (PROFILE === "v5") x.setRequestHeader("Accept-Language", "en");
  if (authHeader) x.setRequestHeader("Authorization", authHeader);
  if (body !== null) x.setRequestHeader("Content-Type", "application/json;charset=utf-8");
  x.onload = function () { done(x); };
  x.onerror = function () { $("status").textContent = "network error"; };
  x.send(body);
}
function userOf(x) {
  try { var j = JSON.parse(x.responseText); } catch (e) { return null; }
  if (x.status !== 200) return null;
  var u = PROFILE === "v5" ? j.data : j.userDetails;
  return u && u.username ? u.username : null;
}
function show(user) {
  $("status").textContent = user ? "Logged in as " + user : "Not logged in";
  $("user").textContent = user || "";
  $("login").hidden = !!user;
  $("app").hidden = !user;
}
function login(ev) {
  ev.preventDefault();
  /* Kylin's UI: Basic header, then POST {} to user/authentication (s.5.1, s.5.2). */
  authHeader = "Basic " + btoa($("username").value + ":" + $("password").value);
  call("POST", "/kylin/api/user/authentication", "{}", function (x) {
    var user = userOf(x);
    /* 2.x-4.x keeps the header on every later XHR until reload; 5.x clears it
       and relies on the session cookie. */
    if (!user || PROFILE === "v5") authHeader = null;
    if (!user) $("status").textContent = "Login failed (" + x.status + ")";
    else show(user);
  });
}
function load() {
  var url = PROFILE === "v5" ? "/kylin/api/models?project=learn_kylin" : "/kylin/api/projects";
  call("GET", url, null, function (x) {
    if (x.status === 401) { authHeader = null; show(null); }
    $("out").textContent = "HTTP " + x.status + " from node " +
      x.getResponseHeader("X-Kylin-Node") + "\n" + x.responseText;
  });
}
function logout() {
  var url = PROFILE === "v5" ? "/kylin/api/j_spring_security_logout" : "/kylin/j_spring_security_logout";
  call("GET", url, null, function () { authHeader = null; show(null); }, "text/html");
}
$("login").addEventListener("submit", login);
$("load").addEventListener("click", load);
$("logout").addEventListener("click", logout);
call("GET", "/kylin/api/user/authentication", null, function (x) { show(userOf(x)); });
"""


def ui_page(node_name: str, profile: str) -> Response:
    """Minimal UI that logs in exactly like Kylin's UI (s.5.1 / s.5.2)."""
    name = html.escape(node_name)
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>Kylin {name}</title>'
        "</head><body>"
        f'<h1>Kylin {name}</h1><p id="status">Not logged in</p>'
        '<form id="login"><input id="username" placeholder="Username" autocomplete="username">'
        '<input id="password" type="password" placeholder="Password" '
        'autocomplete="current-password"><button type="submit">Login</button></form>'
        '<div id="app" hidden>User: <b id="user"></b> '
        '<button id="load">Load data</button> <button id="logout">Logout</button>'
        '<pre id="out"></pre></div>'
        f"<script>{UI_SCRIPT % {'profile': profile}}</script></body></html>"
    )
    return Response(200, body.encode("utf-8"), HTML)
