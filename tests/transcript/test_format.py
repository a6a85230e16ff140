"""The one transcript format: written by `render_transcript`, read by `parse_transcript` (which
also reads what providers write), and the simulator's transcripts written in it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credira.channel.voice.simulator import SCENARIOS, _transcript
from credira.transcript.format import Turn, debtor_took_part, parse_transcript, render_transcript

SCRIPT = "Hello, this is Acme calling about invoice INV-1001 for 250.00 USD."


def test_render_writes_one_labelled_line_per_turn_and_parse_reads_it_back() -> None:
    turns = [
        Turn("agent", SCRIPT),
        Turn("debtor", "Yes, I can pay in 7 days."),
        Turn("agent", "Thanks, bye."),
    ]
    text = render_transcript(turns)
    assert text.splitlines() == [
        f"Agent: {SCRIPT}",
        "Debtor: Yes, I can pay in 7 days.",
        "Agent: Thanks, bye.",
    ]
    assert text.endswith("\n")
    assert parse_transcript(text) == turns


def test_parse_reads_provider_labels_crlf_and_continuation_lines() -> None:
    text = "Assistant: Hello.\r\n\r\nCustomer: Hi,\r\nwho is this?\r\nUSER:Me again.\r\n"
    assert parse_transcript(text) == [
        Turn("agent", "Hello."),
        Turn("debtor", "Hi,\nwho is this?"),
        Turn("debtor", "Me again."),
    ]


def test_parse_refuses_text_that_does_not_start_with_a_speaker() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_transcript("Hello there\nAgent: hi")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.builds(
            Turn,
            speaker=st.sampled_from(["agent", "debtor"]),
            text=st.text(st.characters(exclude_characters="\r", exclude_categories=("Cs",))),
        ),
        max_size=5,
    )
)
def test_parse_is_the_inverse_of_render(turns: list[Turn]) -> None:
    assert parse_transcript(render_transcript(turns)) == turns


@pytest.mark.parametrize(
    ("text", "took_part"),
    [
        ("Agent: Hello?\nDebtor: Yes.\n", True),
        ("Assistant: Hello?\nCustomer: Yes.", True),
        ("Agent: Hello? Please call us back.", False),
        ("Hello? Nobody there.", False),
        ("", False),
    ],
)
def test_debtor_took_part_when_a_turn_is_theirs(text: str, took_part: bool) -> None:
    assert debtor_took_part(text) is took_part


@pytest.mark.parametrize("scenario", sorted({*SCENARIOS.values(), "acknowledge"}))
def test_simulated_transcripts_are_in_the_format(scenario: str) -> None:
    script = f"{SCRIPT}\nCustomer: this line is the agent's script, not the debtor speaking."
    transcript = _transcript(scenario, script)
    if transcript is None:
        assert scenario in ("no_answer", "busy", "failure")
        return
    turns = parse_transcript(transcript)
    assert turns[0] == Turn("agent", turns[0].text)
    assert turns[0].text.startswith(script)
    assert render_transcript(turns) == transcript + "\n"
    assert debtor_took_part(transcript) is (scenario != "voicemail")
