"""The app's pages: one module per page, each with a ``page()`` function.

``app.py`` lists them in ``PAGES`` (adding a page is one line there); ``common`` holds
what they share (settings, cached runs, the URL, display helpers).
"""
