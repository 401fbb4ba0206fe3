"""What the explorer's server accepts before any callback runs, and what it says about itself.

A Dash page talks to its server by POSTing JSON to ``/_dash-update-component``; any client can
post anything there. :func:`install` puts three checks in front of every request of an app:

* the ``Host`` header must name this server: a loopback name (``127.0.0.1``, ``localhost``,
  ``[::1]``, any port) or a host it was told to serve on (:func:`allow_host`; ``descentlab serve
  --host X`` adds X). A web page elsewhere that re-points its own name at 127.0.0.1 (DNS
  rebinding) sends its own name and gets HTTP 400;
* a callback body must be a JSON object (UTF-8, ``application/json``) whose ``output``,
  ``outputs``, ``inputs``, ``state`` and ``changedPropIds`` have the shape the named callback
  expects: the components and properties the page has, the pattern-matching entries in step with
  each other (:func:`check_callback`). Anything else gets HTTP 400 (415 for another content type,
  413 for a body over the app's ``MAX_CONTENT_LENGTH``) with one short plain-text line, and
  nothing in the server's log: a client's mistake is not the server's error;
* every HTTP error is answered in plain text (:func:`plain_error`), never an HTML page; a request
  for a script Dash does not serve is a 404, not an internal error with a traceback.

The values inside a well-formed body are then the callbacks' business (they check each one and
answer with a message on the page). Finally no response carries the server's software versions:
:class:`QuietHandler`, the request handler of the server ``descentlab serve`` starts, says
``Server: descentlab`` (another WSGI server is its own business).
"""

from __future__ import annotations

import json
import socket

import dash
from flask import Response, request
from werkzeug.exceptions import BadRequest, HTTPException, NotFound, UnsupportedMediaType
from werkzeug.serving import WSGIRequestHandler

from descentlab.errors import one_line

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
"""Host names every app answers to (with any port)."""
WILDCARD = frozenset({"0.0.0.0", "::", ""})
"""Bind addresses that mean every interface: the machine's own names are allowed then too."""
SERVER_NAME = "descentlab"
"""The whole ``Server`` header: no Werkzeug, no Python version."""
MAX_PATTERN_ENTRIES = 1000
"""The most entries one pattern-matching input, state or output may list (the page has a few dozen)."""
MAX_ID_TEXT = 1000
"""The longest string a pattern-matching id may hold for a wildcard key (a method's name)."""
CALLBACK_PATH = "_dash-update-component"


class BadCallback(BadRequest):
    """A malformed callback request: HTTP 400 with one line saying what is wrong."""

    def __init__(self, what: str):
        super().__init__(one_line(f"callback request: {what}"))


# ---- installing the checks -------------------------------------------------------------------------

def install(app: dash.Dash) -> None:
    """Put the host check, the callback-body check and plain-text errors on ``app`` (its allowed
    host names: ``app.allowed_hosts``, a set)."""
    app.allowed_hosts = set(LOOPBACK_NAMES)  # type: ignore[attr-defined]
    server = app.server
    prefix = app.config.routes_pathname_prefix or "/"

    @server.before_request
    def _check_host():
        sent = request.headers.get("Host", request.host)  # as sent: Werkzeug's request.host tidies it
        if host_name(sent) not in app.allowed_hosts:  # type: ignore[attr-defined]
            raise BadRequest(one_line(f"this server does not answer to the host {sent!r}; "
                                      "open it as http://127.0.0.1:PORT/ (or the --host it was given)"))

    @server.before_request
    def _check_callback():
        if request.method == "POST" and request.path == prefix + CALLBACK_PATH:
            check_callback(app, read_body())

    server.register_error_handler(HTTPException, plain_error)

    @server.errorhandler(dash.exceptions.DependencyException)
    def _no_such_file(err: Exception):
        # Dash's answer to a request for a script it does not serve (any client can ask for one)
        if request.path.startswith(prefix + "_dash-component-suites/"):
            return plain_error(NotFound("no such script"))
        raise err


def allow_host(app: dash.Dash, host: str) -> None:
    """Let ``app`` answer requests that name ``host`` (the address it is served on); for a
    wildcard address (0.0.0.0, ::) also the machine's own names and addresses, best effort."""
    names = {host_name(host)}
    if host in WILDCARD:
        names |= machine_names()
    app.allowed_hosts |= names - {""}  # type: ignore[attr-defined]


def machine_names() -> set[str]:
    """This machine's host name, fully qualified name and the addresses they resolve to."""
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    for name in list(names):
        try:
            infos = socket.getaddrinfo(name, None)
        except (OSError, UnicodeError):
            continue
        names |= {str(info[4][0]).lower() for info in infos}
    return names


def host_name(host: str | None) -> str:
    """The name part of a ``Host`` header, lower case, without port, brackets or a final dot:
    ``"[::1]:8050"`` → ``"::1"``, ``"LocalHost.:80"`` → ``"localhost"``."""
    host = (host or "").strip().lower()
    if host.startswith("["):
        name, bracket, rest = host[1:].partition("]")
        return name if bracket and (not rest or _port(rest)) else "\0invalid"
    if host.count(":") == 1:
        host, _, port = host.partition(":")
        if not _port(":" + port):
            return "\0invalid"
    return host[:-1] if host.endswith(".") else host


def _port(rest: str) -> bool:
    return rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6


def plain_error(err: HTTPException) -> Response:
    """Any HTTP error as one short line of plain text (the status, then why), its headers kept
    (``Allow`` on a 405)."""
    response = err.get_response()
    response.set_data(f"{err.code} {err.name}: {one_line(err.description or '')}\n")
    response.mimetype = "text/plain"
    return response


# ---- the callback body -----------------------------------------------------------------------------

def read_body() -> object:
    """The JSON of this request's body (HTTP 415 unless it says it is JSON; 400 unless it is UTF-8
    JSON no deeper than Python's parser can go)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(one_line(f"a callback body must be application/json, not "
                                            f"{request.mimetype or 'unlabelled'!r}"))
    raw = request.get_data(cache=True)  # cached: Dash reads the same bytes again
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadCallback("the body is not UTF-8 text") from None
    except RecursionError:
        raise BadCallback("the JSON is nested too deeply") from None
    except ValueError as err:  # JSONDecodeError, and integers too long to convert
        raise BadCallback(f"the body is not valid JSON ({err})") from None


def check_callback(app: dash.Dash, body: object) -> None:
    """Raise :class:`BadCallback` unless ``body`` is a well-formed request for one of ``app``'s
    callbacks: what the page's own renderer sends for it.

    Checked: ``output`` names a callback; ``inputs`` and ``state`` list one entry per input and
    state of it, and ``outputs`` one per output (a single entry for a single output), each a
    ``{"id", "property"}`` of that component and property, or for a pattern-matching one
    (``{"type": "hyper", "method": ALL, …}``) a list of such entries whose ids fit the pattern;
    every list of the same wildcard keys names the same components in the same order (the page
    pairs each control with its label); ``changedPropIds`` names inputs of this request.
    """
    if not isinstance(body, dict):
        raise BadCallback(f"the body must be a JSON object, not {_kind(body)}")
    output = body.get("output")
    if not isinstance(output, str):
        raise BadCallback("the body must name its output (a string)")
    spec = app.callback_map.get(output)
    if spec is None:
        raise BadCallback(f"no callback updates {output!r}")
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    expected_outputs = [(o.component_id, o.component_property) for o in outputs]
    sent_outputs = body.get("outputs")
    if not isinstance(spec["output"], list):
        sent_outputs = [sent_outputs]
    groups: dict[tuple[str, ...], list] = {}
    _entries("outputs", sent_outputs, expected_outputs, groups)
    inputs = _entries("inputs", body.get("inputs"), [(_id(i["id"]), i["property"]) for i in spec["inputs"]],
                      groups)
    _entries("state", body.get("state", []), [(_id(s["id"]), s["property"]) for s in spec["state"]], groups)
    for keys, lists in groups.items():
        if any(wildcards != lists[0] for wildcards in lists[1:]):
            raise BadCallback(f"the pattern-matching entries over {', '.join(keys)} disagree")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or len(changed) > len(inputs):
        raise BadCallback("changedPropIds must be a list of this callback's inputs")
    for prop_id in changed:
        if prop_id not in inputs:
            raise BadCallback(f"changedPropIds names {_short(prop_id)}, not an input of this callback")


def _entries(field: str, sent: object, expected: list[tuple[object, str]],
             groups: dict[tuple[str, ...], list]) -> set[str]:
    """Check one of ``inputs``, ``state``, ``outputs``; return the prop ids it names."""
    if not isinstance(sent, list):
        raise BadCallback(f"{field} must be a list, not {_kind(sent)}")
    if len(sent) != len(expected):
        raise BadCallback(f"{field} must have {len(expected)} entries, not {len(sent)}")
    named = set()
    for i, (entry, (component, prop)) in enumerate(zip(sent, expected, strict=True)):
        where = f"{field}[{i}]"
        if isinstance(component, dict):  # pattern-matching: a list of the components that match
            if not isinstance(entry, list) or len(entry) > MAX_PATTERN_ENTRIES:
                raise BadCallback(f"{where} must be a list of up to {MAX_PATTERN_ENTRIES} entries")
            wildcards = []
            for j, item in enumerate(entry):
                _entry(f"{where}[{j}]", item, prop)
                wildcards.append(_match(f"{where}[{j}]", item["id"], component))
                named.add(f"{_stringify(item['id'])}.{prop}")
            keys = tuple(sorted(k for k, v in component.items() if _is_wildcard(v)))
            groups.setdefault(keys, []).append(wildcards)
        else:
            _entry(where, entry, prop)
            if entry["id"] != component:
                raise BadCallback(f"{where} must be the component {component!r}, not {_short(entry['id'])}")
            named.add(f"{component}.{prop}")
    return named


def _entry(where: str, item: object, prop: str) -> None:
    if not isinstance(item, dict) or "id" not in item:
        raise BadCallback(f"{where} must be an object with an id and a property")
    if item.get("property") != prop:
        raise BadCallback(f"{where} must be the property {prop!r}, not {_short(item.get('property'))}")


def _match(where: str, sent: object, pattern: dict) -> tuple:
    """The wildcard values of an id that fits ``pattern`` (fixed keys equal, the same keys)."""
    if not isinstance(sent, dict) or set(sent) != set(pattern):
        raise BadCallback(f"{where} has an id that does not fit {_stringify(_plain(pattern))}")
    values = []
    for key, want in sorted(pattern.items()):
        got = sent[key]
        if _is_wildcard(want):
            if not isinstance(got, str | int | float) or (isinstance(got, str) and len(got) > MAX_ID_TEXT):
                raise BadCallback(f"{where} has an id whose {key!r} is {_short(got)}")
            values.append(got)
        elif got != want:
            raise BadCallback(f"{where} has an id whose {key!r} is {_short(got)}, not {want!r}")
    return tuple(values)


def _id(text: str) -> object:
    """A callback spec's component id: a plain string, or a pattern (its JSON text) as a dict."""
    return json.loads(text) if text.startswith("{") else text


def _is_wildcard(value: object) -> bool:
    # a pattern's wildcard: dash.ALL (an object) in Output ids, ["ALL"] in the spec's JSON text
    return isinstance(value, type(dash.ALL)) or (isinstance(value, list) and len(value) == 1
                                                             and value[0] in ("ALL", "MATCH", "ALLSMALLER"))


def _plain(pattern: dict) -> dict:
    return {k: (["ALL"] if _is_wildcard(v) else v) for k, v in pattern.items()}


def _stringify(component: object) -> str:
    """A component id as Dash writes it in a prop id (sorted, compact JSON for a dict)."""
    if isinstance(component, dict):
        return json.dumps(component, sort_keys=True, separators=(",", ":"))
    return str(component)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- the server's request handler ------------------------------------------------------------------

class QuietHandler(WSGIRequestHandler):
    """Werkzeug's request handler without its version banner: ``Server: descentlab`` on every
    response, its own error pages included, and in the WSGI environ's ``SERVER_SOFTWARE``; a
    request it cannot parse is logged as the client's error, not the server's."""

    server_version = SERVER_NAME  # type: ignore[assignment]  # Werkzeug's is a property
    sys_version = ""

    def version_string(self) -> str:
        return SERVER_NAME

    def log_error(self, format: str, *args) -> None:
        """A malformed request line or header (the client's error, answered 400): an INFO line,
        not an ERROR (``descentlab serve`` shows WARNING and above)."""
        self.log("info", format, *args)
