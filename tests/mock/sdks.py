"""The official SDK clients the native-route tests drive, pointed at a mock server."""

from __future__ import annotations

from dataclasses import dataclass

import anthropic
import openai
from google import genai
from google.genai import types

from streamdesk.mock import MockServer


@dataclass
class Clients:
    anthropic: anthropic.AsyncAnthropic
    gemini: genai.Client
    openai: openai.AsyncOpenAI

    @classmethod
    def of(cls, server: MockServer) -> Clients:
        """Clients without retries, so a fault reaches the test as the SDK's own error."""
        base = f"http://127.0.0.1:{server.port}"
        gemini_options = types.HttpOptions(base_url=base, api_version="v1beta")
        return cls(
            anthropic.AsyncAnthropic(base_url=base, api_key="x", max_retries=0),
            genai.Client(api_key="x", http_options=gemini_options),
            openai.AsyncOpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0),
        )

    async def close(self) -> None:
        await self.anthropic.close()
        await self.gemini.aio.aclose()
        await self.openai.close()
