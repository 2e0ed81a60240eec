"""journeysim app: compare what-if scenarios, see the journey, explore sweeps, learn the rules.

    streamlit run app.py                              # results root: ./multirun
    streamlit run app.py -- --results-root /data/sweeps

This file only builds the navigation over the pages of ``app_pages`` (one module per
page, each with a ``page()`` function) and the state they share; adding a page is one
line in ``PAGES``. The pages hold widgets and layout only: runs go through
``sim.load_config`` and ``sim.simulate`` (cached by their resolved config), and every
table and chart is built by the pure functions of ``sim.dashboard``. Nothing typed is
executed: values are validated like the command line.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import streamlit as st

from app_pages import common

#: The tab's icon, served by the app itself: an emoji or ``:material/...:`` icon would make
#: the browser fetch it from fonts.gstatic.com (the app must work offline).
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"
#: (module of app_pages, title, Material icon, URL path): the first is the default page.
#: The navigation's icons come from the Material font Streamlit serves itself.
PAGES = (
    ("compare", "Compare scenarios", ":material/compare_arrows:", "compare"),
    ("journey", "Journey", ":material/route:", "journey"),
    ("sweeps", "Sweep explorer", ":material/grid_on:", "sweeps"),
    ("analysis", "Analyst tools", ":material/analytics:", "analysis"),
    ("model", "Explain the model", ":material/menu_book:", "model"),
)


def sidebar() -> None:
    """What every page shares: the comparison on screen and where sweeps are read from."""
    with st.sidebar:
        comp = common.comparison()
        if comp is not None:
            st.caption("Comparison on screen")
            st.markdown(comp.settings.describe())
            if not common.shown_matches_settings():
                st.caption("The form has newer settings: press **Run comparison** to run them.")
        st.caption(f"Sweeps are read under `{common.results_root()}`")
        st.caption("The address bar holds the settings: share or bookmark it to come back.")


def main() -> None:
    """Set up the page, the shared state and the navigation, then run the chosen page."""
    st.set_page_config(page_title="journeysim", page_icon=str(FAVICON), layout="wide")
    common.init_state()
    pages = [
        st.Page(
            importlib.import_module(f"app_pages.{module}").page,
            title=title,
            icon=icon,
            url_path=url,
            default=k == 0,
        )
        for k, (module, title, icon, url) in enumerate(PAGES)
    ]
    page = st.navigation(pages)
    common.sync_url()
    sidebar()
    page.run()


if __name__ == "__main__":
    main()
