"""A Sphinx extension for the built book's pages (loaded through ``_config.yml``'s
``sphinx.local_extensions``); it fixes two browser console errors the rendered-page test finds.

* An inline script added by an extension once the builder exists (sphinx-thebe's configuration)
  reaches the page twice under Sphinx 7.4: once as added (file name ``None``) and once from the
  registry (file name ``""``), which Sphinx does not see as equal. The second
  ``const THEBE_JS_URL = …`` throws "Identifier 'THEBE_JS_URL' has already been declared" on
  every page. Each page keeps the first copy of every script.
* pydata-sphinx-theme logs "Got invalid theme mode" when no ``default_mode`` is in the HTML context;
  the book opens in the light theme (the reader can still switch).
"""
from __future__ import annotations


def _one_copy_of_each_script(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # an inline script is added once with filename None and once with "" (see above)
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def _light_theme_by_default(app, config) -> None:
    # pydata-sphinx-theme reads default_mode from the HTML context, not from the theme options
    config.html_context = {"default_mode": "light", **(config.html_context or {})}


def setup(app):
    app.connect("config-inited", _light_theme_by_default)
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", _one_copy_of_each_script, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
