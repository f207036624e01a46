"""The streaming core: pure Python and asyncio. Never imports Qt."""
