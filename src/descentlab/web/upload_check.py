"""The upload box's check in the browser: a file it will not send gets a message at once.

``dcc.Upload`` drops a file over its ``max_size`` (or of a type it does not ``accept``) without a
word: no callback runs, and the message of the previous upload stays. :data:`SCRIPT` listens, on
the whole document, for a file chosen in or dropped on the upload box, before the box itself sees
it, and tells the page what happens to it (``dash_clientside.set_props``):

* a file the box will drop: "big.csv is 12.3 MB, larger than 5 MB, the limit for an upload" (or
  "… is not a CSV file"), in the error style, in place of the old message;
* a file it will send: "reading hours.csv …", until the server's answer replaces it.

Either way the box's ``contents`` is reset first, so that sending the same file again is a change
the server hears about. The decision itself is ``window.descentlabUpload.verdict(files, limit,
accept)``, a pure function (tests call it in a page). The server still refuses an upload over the
limit (:func:`descentlab.web.controls.parse_upload`): this check only saves the wait, and says why.
"""

from __future__ import annotations

import json

import dash

_JS = r"""
(function () {
  "use strict";
  var LIMIT = %(limit)s, ACCEPT = %(accept)s, UPLOAD = %(upload)s, MESSAGE = %(message)s;
  var ERROR = %(error)s, NOTE = %(note)s, MB = 1048576;

  function shownName(name) {  // as controls.display_name: last path component, printable, <= 80
    var last = String(name || "").replace(/\\/g, "/").split("/").pop();
    last = last.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "").trim().slice(0, 80);
    return last || "uploaded.csv";
  }
  function tooLarge(name, bytes, limit) {  // as controls.too_large
    var shown = (bytes / MB).toFixed(1);
    var size = Number(shown) > limit / MB ? " " + shown + " MB," : "";
    return name + " is" + size + " larger than " + (limit / MB) + " MB, the limit for an upload";
  }
  function accepted(file, accept) {  // what dcc.Upload's dropzone accepts (attr-accept)
    if (!accept || file.type === "application/x-moz-file") { return true; }
    var name = String(file.name || "").toLowerCase(), type = String(file.type || "").toLowerCase();
    return accept.split(",").some(function (token) {
      var t = token.trim().toLowerCase();
      if (t.charAt(0) === ".") { return name.slice(-t.length) === t; }
      if (t.slice(-2) === "/*") { return type.split("/")[0] === t.slice(0, -2); }
      return type === t;
    });
  }
  function verdict(files, limit, accept) {
    // the message for the first file (the box sends one): {error, text}, or null without files
    if (!files || !files.length) { return null; }
    var file = files[0], name = shownName(file.name);
    if (!accepted(file, accept)) {
      return {error: true, text: name + " is not a CSV file (" + accept.split(",").join(", ") + ")"};
    }
    if (file.size > limit) {
      return {error: true, text: tooLarge(name, file.size, limit)};
    }
    return {error: false, text: "reading " + name + " \u2026"};
  }
  function inBox(target) {
    var box = document.getElementById(UPLOAD);
    return box !== null && target instanceof Node && box.contains(target);
  }
  function check(event) {
    if (!inBox(event.target)) { return; }
    var list = (event.dataTransfer && event.dataTransfer.files) || event.target.files;
    var said = verdict(Array.prototype.slice.call(list || []), LIMIT, ACCEPT);
    var dc = window.dash_clientside;
    if (said === null || !dc || typeof dc.set_props !== "function") { return; }
    dc.set_props(UPLOAD, {contents: null, filename: null});
    dc.set_props(MESSAGE, {children: said.text, style: said.error ? ERROR : NOTE});
  }
  window.descentlabUpload = {verdict: verdict, limit: LIMIT, accept: ACCEPT};
  document.addEventListener("change", check, true);
  document.addEventListener("drop", check, true);
})();
"""


def script(limit: int, accept: str, upload_id: str, message_id: str, error_style: dict,
           note_style: dict) -> str:
    """The check's JavaScript for an upload box ``upload_id`` (its ``max_size`` = ``limit`` bytes,
    its ``accept``) whose messages go to ``message_id`` in ``error_style`` or ``note_style``."""
    return _JS % {"limit": int(limit), "accept": json.dumps(accept), "upload": json.dumps(upload_id),
                  "message": json.dumps(message_id), "error": json.dumps(error_style),
                  "note": json.dumps(note_style)}


def install(app: dash.Dash, code: str) -> None:
    """Serve ``code`` (:func:`script`) in ``app``'s page, after Dash's own scripts."""
    marker = "{%renderer%}"
    if marker not in app.index_string:
        raise ValueError("the app's index_string has no {%renderer%} to put the upload check after")
    app.index_string = app.index_string.replace(marker, f"{marker}\n<script>{code}</script>", 1)
