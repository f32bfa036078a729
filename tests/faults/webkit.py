#!/usr/bin/env python3
"""WebKitGTK on a persistent data directory, driven over stdin/stdout, for the fault lab.

WebKitWebDriver's sessions are ephemeral (no data on disk, no pid to kill): this tiny browser
keeps its IndexedDB in DIR, and its pid and its WebKitNetworkProcess child (which hosts IndexedDB)
are known, so the lab can fill its disk, kill it, kill the network process, or damage its files.

    xvfb-run -a python3 webkit.py DIR

Reads JSON lines {"id": n, "goto": url} or {"id": n, "eval": expression} (awaited if a promise);
writes {"id": n, "value": ...} or {"id": n, "error": "..."}; first {"ready": true, "pid": pid}.
"""
import json
import os
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402

data = os.path.abspath(sys.argv[1])
manager = WebKit2.WebsiteDataManager(base_data_directory=os.path.join(data, "data"), base_cache_directory=os.path.join(data, "cache"))
context = WebKit2.WebContext.new_with_website_data_manager(manager)
view = WebKit2.WebView.new_with_context(context)
window = Gtk.OffscreenWindow()
window.add(view)
window.show_all()
waiting_load = []


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def on_load(_view, event):
    if event == WebKit2.LoadEvent.FINISHED:
        while waiting_load:
            send({"id": waiting_load.pop(), "value": None})


view.connect("load-changed", on_load)


def on_web_process_terminated(_view, reason):
    send({"event": "web-process-terminated", "reason": int(reason)})


view.connect("web-process-terminated", on_web_process_terminated)


def evaluate(request_id, expression):
    def done(_view, result):
        try:
            value = view.call_async_javascript_function_finish(result)
            text = value.to_json(0) if value is not None and not value.is_undefined() else "null"
            send({"id": request_id, "value": json.loads(text) if text else None})
        except GLib.Error as error:
            send({"id": request_id, "error": error.message})

    body = f"return await ({expression});"
    view.call_async_javascript_function(body, -1, None, None, None, None, done)


def on_line(source, _condition):
    line = source.readline()
    if not line:
        Gtk.main_quit()
        return False
    request = json.loads(line)
    if "goto" in request:
        waiting_load.append(request["id"])
        view.load_uri(request["goto"])
    elif "eval" in request:
        evaluate(request["id"], request["eval"])
    return True


GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, on_line)
send({"ready": True, "pid": os.getpid()})
Gtk.main()
