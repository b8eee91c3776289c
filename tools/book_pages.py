"""A Sphinx extension for the built book's pages (loaded through ``_config.yml``'s
``sphinx.local_extensions``); it fixes two browser console errors the rendered-page test finds.

* Some extensions (sphinx-thebe, sphinx-togglebutton) add their inline configuration scripts
  twice under Jupyter Book 1 with Sphinx 7.4 (same text, different priorities), and the second
  ``const THEBE_JS_URL = …`` throws "Identifier 'THEBE_JS_URL' has already been declared" on
  every page. Each page keeps the first copy of every script.
* pydata-sphinx-theme logs "Got invalid theme mode" when no ``default_mode`` is configured;
  the book opens in the light theme (the reader can still switch).
"""
from __future__ import annotations


def _one_copy_of_each_script(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (str(getattr(js, "filename", js)), tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def _light_theme_by_default(app, config) -> None:
    config.html_theme_options.setdefault("default_mode", "light")


def setup(app):
    app.connect("config-inited", _light_theme_by_default)
    app.connect("html-page-context", _one_copy_of_each_script, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
