"""The doctor's look at the LLM (``CREDIRA_LLM_URL``): whether the server answers, takes the
key, and serves the model named in ``CREDIRA_LLM_MODEL`` (``GET {base}/models``)."""

from __future__ import annotations

from credira.config import Settings
from credira.doctor.finding import Finding
from credira.llm import LLMClient, LLMError, LLMRequestRejected, LLMSettings, LLMTimeout


async def llm_check(settings: Settings, within: float) -> list[Finding]:
    llm = LLMSettings.from_settings(settings)
    if llm is None:
        return [
            Finding(
                "ok",
                "llm",
                "no CREDIRA_LLM_URL: answered calls are analysed by the rules, and conversation "
                "agents follow the deterministic dialogue",
            )
        ]
    where = f"the LLM server at {llm.url}"
    probe = LLMSettings(
        url=llm.url,
        model=llm.model,
        api_key=llm.api_key,
        connect_timeout=within,
        first_token_timeout=within,
    )
    async with LLMClient(probe) as client:
        try:
            models = await client.models()
        except LLMRequestRejected as exc:
            if exc.status_code in (401, 403):
                return [Finding("fail", "llm", f"{where} refuses the key (CREDIRA_LLM_API_KEY)")]
            return [
                Finding(
                    "warn",
                    "llm",
                    f"{where} does not list its models ({exc.status_code}); cannot tell "
                    f"whether it serves {llm.model}",
                )
            ]
        except LLMTimeout:
            return [Finding("fail", "llm", f"{where} did not answer within {within:g} s")]
        except LLMError as exc:
            return [Finding("fail", "llm", f"cannot ask {where}: {exc.message}")]
    if llm.model not in models and f"{llm.model}:latest" not in models:
        shown = ", ".join(models[:10]) or "none"
        return [
            Finding(
                "fail",
                "llm",
                f"{where} does not serve {llm.model} (it lists: {shown}); with Ollama, "
                f"`ollama pull {llm.model}`",
            )
        ]
    return [Finding("ok", "llm", f"{where} answers and serves {llm.model}")]
