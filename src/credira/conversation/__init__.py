"""Credira's own voice agent: a conversation with the debtor held by our code.

An async loop per call (`agent.Conversation`) speaks ConversationRelay's JSON frames (the
provider does speech to text and back), takes its words from a policy (`scripted`: the
deterministic default; `llm_policy`: any OpenAI-compatible model), and lets the policy act
only through tools our code checks and records (`tools`, `guard`): what the debtor agreed to
is a structured record (`record`), not guessed from the transcript afterwards.
"""
