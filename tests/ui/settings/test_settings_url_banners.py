"""Every URL of settings.toml that cannot be used is said at start, one banner line at a time:
the active provider's first, the other providers', the MCP servers', then the proxy's only when
the manual proxy is chosen; "(1 of N)" says more follow, and each line's button opens Settings
on the page of its field with the field focused and the suggested URL offered."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from settings_dialogs import close_later
from test_url_banner import window_on_file

from streamdesk.core.store.settings import load_settings, settings_path
from streamdesk.ui.settings.controller import Banner

PROXY_SENTENCE = (
    'The proxy URL "proxy.example:3128" cannot be used: it has no scheme (start it with http://'
    " or socks5://); use http://proxy.example:3128 instead."
)
FILES_SENTENCE = (
    'The URL of the MCP server files "htps://x" cannot be used: the scheme must be http or'
    " https, not htps; use https://x instead."
)


def profile(pid: str, base_url: str) -> str:
    """A provider that needs no key (no "No API key" line over the URL's)."""
    return (
        f'[[providers]]\nid = "{pid}"\nname = "{pid.title()}"\nbase_url = "{base_url}"\n'
        f'needs_key = false\ndefault_model = "m"\nmodels = [{{ id = "m" }}]\n'
    )


def write(*, active: str = "relay", proxy_mode: str = "system", tables: str = "") -> str:
    text = (
        f'active_provider = "{active}"\nproxy_mode = "{proxy_mode}"\n'
        f'proxy_url = "proxy.example:3128"\n{tables}'
    )
    settings_path().write_text(text, encoding="utf-8")
    return text


RELAY_AND_FILES = profile("relay", "relay.example/v1") + '[mcp.servers.files]\nurl = "htps://x"\n'


def lines(banner: Banner) -> list[tuple[str, str]]:
    """The banner's lines as it shows them, dismissing each in turn."""
    said = []
    while banner.isVisible() and len(said) < 10:
        said.append((banner.label.text(), banner.action.text()))
        banner.dismiss()
    return said


@pytest.mark.asyncio
async def test_a_manual_proxy_url_opens_settings_network_at_its_field(qtbot: QtBot) -> None:
    text = write(proxy_mode="manual", tables=profile("relay", "https://relay.example/v1"))
    async with window_on_file(qtbot) as window:
        banner = window.settings_ui.banner
        assert banner.isVisible()
        assert banner.label.text() == PROXY_SENTENCE, "one sentence, not the load warning too"
        assert banner.action.text() == "Open Settings ▸ Network"
        banner.action.click()
        assert not banner.isVisible()
        dialog = window.settings_ui.dialog
        assert dialog is not None and dialog.isVisible()
        close_later(dialog)
        network = dialog.network
        assert dialog.tabs.currentWidget() is network
        assert dialog.focusWidget() is network.proxy_edit
        assert network.proxy_url_note.isVisible()
        assert network.proxy_url_note.fix == "http://proxy.example:3128"
        assert network.proxy_url_note.fix_button.isVisible()
        network.proxy_url_note.apply_fix()
        dialog.save(close=True)
        await dialog.wait_idle()
        assert load_settings().settings.proxy_url == "http://proxy.example:3128"
        assert not banner.isVisible()
    assert settings_path().read_text(encoding="utf-8") != text


@pytest.mark.asyncio
async def test_a_proxy_url_not_in_use_is_not_said_but_save_refuses_it_as_manual(
    qtbot: QtBot,
) -> None:
    text = write(proxy_mode="system", tables=profile("relay", "https://relay.example/v1"))
    async with window_on_file(qtbot) as window:
        banner = window.settings_ui.banner
        assert not banner.isVisible()
        dialog = window.settings_ui.open_dialog()
        close_later(dialog)
        network = dialog.network
        network.proxy_box.setCurrentIndex(network.proxy_box.findData("manual"))
        dialog.save(close=True)
        await dialog.wait_idle()
        assert dialog.isVisible()
        assert dialog.status.text() == f"Could not save the settings: {PROXY_SENTENCE}"
        assert dialog.tabs.currentWidget() is network
        assert dialog.focusWidget() is network.proxy_edit
        assert settings_path().read_text(encoding="utf-8") == text, "nothing was written"
        network.proxy_box.setCurrentIndex(network.proxy_box.findData("system"))
        dialog.save(close=True)
        await dialog.wait_idle()
        assert not dialog.isVisible(), "not in use: kept as written"
    assert load_settings().settings.proxy_url == "proxy.example:3128"


@pytest.mark.asyncio
async def test_a_bad_mcp_server_url_is_said_at_start_with_a_button_to_that_server(
    qtbot: QtBot,
) -> None:
    """Two servers whose URLs are kept as written: the second's button chooses it, though the
    first (shown when the page opens) cannot be committed."""
    write(
        tables=profile("relay", "https://relay.example/v1")
        + '[mcp.servers.alpha]\nurl = "htps://a.example/mcp"\n'
        + '[mcp.servers.files]\nurl = "htps://x"\n'
    )
    async with window_on_file(qtbot) as window:
        banner = window.settings_ui.banner
        assert banner.label.text().startswith('The URL of the MCP server alpha "htps://a.')
        assert banner.label.text().endswith(" (1 of 2)")
        assert banner.action.text() == "Open Settings ▸ MCP servers"
        banner.dismiss()
        assert banner.label.text() == f"{FILES_SENTENCE} (2 of 2)"
        banner.action.click()
        assert not banner.isVisible()
        dialog = window.settings_ui.dialog
        assert dialog is not None
        close_later(dialog)
        mcp = dialog.mcp
        assert dialog.tabs.currentWidget() is mcp
        assert mcp.servers[mcp.current].name == "files"
        assert mcp.list.currentRow() == mcp.current
        assert mcp.url.text() == "htps://x"
        assert dialog.focusWidget() is mcp.url
        assert mcp.note.text() == FILES_SENTENCE


@pytest.mark.asyncio
async def test_several_problems_are_said_in_order_and_counted(qtbot: QtBot) -> None:
    """Active provider, other provider, MCP server, manual proxy: four lines, one at a time."""
    write(
        active="relay",
        proxy_mode="manual",
        tables=profile("spare", "spare.example/v1")
        + profile("relay", "https://relay.example/v1/chat/completions")
        + '[mcp.servers.files]\nurl = "htps://x"\n',
    )
    async with window_on_file(qtbot) as window:
        said = lines(window.settings_ui.banner)
    assert [action for _, action in said] == [
        "Open Settings ▸ Providers",
        "Open Settings ▸ Providers",
        "Open Settings ▸ MCP servers",
        "Open Settings ▸ Network",
    ]
    assert said[0][0].startswith("The SSE base URL of Relay ") and said[0][0].endswith("(1 of 4)")
    assert said[1][0].startswith("The SSE base URL of Spare ") and said[1][0].endswith("(2 of 4)")
    assert said[2][0] == f"{FILES_SENTENCE} (3 of 4)"
    assert said[3][0] == f"{PROXY_SENTENCE} (4 of 4)"


@pytest.mark.asyncio
async def test_the_system_proxy_leaves_the_proxy_url_unsaid(qtbot: QtBot) -> None:
    write(proxy_mode="system", tables=RELAY_AND_FILES)
    async with window_on_file(qtbot) as window:
        said = lines(window.settings_ui.banner)
    assert [text[-8:] for text, _ in said] == ["(1 of 2)", "(2 of 2)"]
    assert said[1][0] == f"{FILES_SENTENCE} (2 of 2)"


@pytest.mark.asyncio
async def test_a_line_shown_over_the_problems_gives_them_back_in_place(qtbot: QtBot) -> None:
    write(proxy_mode="manual", tables=RELAY_AND_FILES)
    async with window_on_file(qtbot) as window:
        banner = window.settings_ui.banner
        assert banner.label.text().endswith("(1 of 3)")
        banner.show_message("Another line.")
        banner.hide()
        assert banner.label.text().endswith("(1 of 3)")
        banner.dismiss()
        banner.show_message("Another line.")
        banner.dismiss()
        assert banner.label.text() == f"{FILES_SENTENCE} (2 of 3)"
