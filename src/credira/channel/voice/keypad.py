"""A script played by a telephony provider (Twilio, Telnyx), then a keypad menu: the words of
the menu in the agent's language, and the call as the debtor heard it, in the transcript
format, the key pressed written as the debtor's words (so the transcript analysis reads it into
the usual outcomes). Pure but for the row it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from credira.channel.voice.port import FINAL_STATUSES, CallStatus, ProviderCall
from credira.channel.voice.reported import answered_time
from credira.models import ProviderCall as CallRow
from credira.transcript.format import Turn, render_transcript

# What each key of the menu means, as the debtor's line of the transcript (read by the
# transcript analysis like any other answer).
KEYPAD: dict[str, str] = {
    "1": "Pressed 1: I will pay this invoice.",
    "2": "Pressed 2: I dispute this invoice.",
    "3": "Pressed 3: Please call me back.",
    "9": "Pressed 9: Stop calling me. Do not call this number again.",
}


@dataclass(frozen=True)
class Wording:
    menu: str
    thanks: dict[str, str]
    no_answer: str
    voicemail: str
    again: str


_WORDING: dict[str, Wording] = {
    "en": Wording(
        "Press 1 if you will pay this invoice. Press 2 to dispute it. Press 3 to be called "
        "back later. Press 9 if you do not want to be called again.",
        {
            "1": "Thank you. We have noted your promise to pay. Goodbye.",
            "2": "Understood. We have recorded your dispute and will look into it. Goodbye.",
            "3": "Of course. We will call you back later. Goodbye.",
            "9": "Understood. We will not call this number again. Goodbye.",
        },
        "We did not receive your answer. Goodbye.",
        "Please call us back at your earliest convenience. Goodbye.",
        "Sorry, that is not one of the options.",
    ),
    "es": Wording(
        "Pulse 1 si va a pagar esta factura. Pulse 2 para disputarla. Pulse 3 para que le "
        "llamemos más tarde. Pulse 9 si no desea que le llamemos de nuevo.",
        {
            "1": "Gracias. Hemos anotado su compromiso de pago. Adiós.",
            "2": "Entendido. Hemos registrado su disputa y la revisaremos. Adiós.",
            "3": "Por supuesto. Le llamaremos más tarde. Adiós.",
            "9": "Entendido. No volveremos a llamar a este número. Adiós.",
        },
        "No hemos recibido su respuesta. Adiós.",
        "Por favor, devuélvanos la llamada lo antes posible. Adiós.",
        "Lo siento, esa no es una de las opciones.",
    ),
    "fr": Wording(
        "Tapez 1 si vous allez payer cette facture. Tapez 2 pour la contester. Tapez 3 pour "
        "être rappelé plus tard. Tapez 9 si vous ne souhaitez plus être appelé.",
        {
            "1": "Merci. Nous avons noté votre promesse de paiement. Au revoir.",
            "2": "Entendu. Nous avons enregistré votre contestation. Au revoir.",
            "3": "Bien sûr. Nous vous rappellerons plus tard. Au revoir.",
            "9": "Entendu. Nous n'appellerons plus ce numéro. Au revoir.",
        },
        "Nous n'avons pas reçu votre réponse. Au revoir.",
        "Merci de nous rappeler dès que possible. Au revoir.",
        "Désolé, ce choix n'existe pas.",
    ),
    "de": Wording(
        "Drücken Sie 1, wenn Sie diese Rechnung bezahlen. Drücken Sie 2, um sie zu bestreiten. "
        "Drücken Sie 3 für einen späteren Rückruf. Drücken Sie 9, wenn Sie keine Anrufe mehr "
        "wünschen.",
        {
            "1": "Danke. Wir haben Ihre Zahlungszusage notiert. Auf Wiederhören.",
            "2": "Verstanden. Wir haben Ihren Einspruch erfasst. Auf Wiederhören.",
            "3": "Gerne. Wir rufen Sie später zurück. Auf Wiederhören.",
            "9": "Verstanden. Wir rufen diese Nummer nicht mehr an. Auf Wiederhören.",
        },
        "Wir haben keine Antwort erhalten. Auf Wiederhören.",
        "Bitte rufen Sie uns so bald wie möglich zurück. Auf Wiederhören.",
        "Diese Auswahl gibt es leider nicht.",
    ),
}


def wording(language: str) -> Wording:
    return _WORDING.get(language.split("-")[0].lower(), _WORDING["en"])


def status_of(row: CallRow) -> CallStatus:
    """The call's status in the port's terms: a completed call a machine answered is a
    voicemail."""
    status = cast(CallStatus, row.reported)  # merge writes the port's names only
    if status == "completed" and machine(row.answered_by):
        return "voicemail"
    return status


def machine(answered_by: str | None) -> bool:
    return bool(answered_by) and (answered_by or "").startswith(("machine", "fax"))


def transcript_of(row: CallRow, status: CallStatus) -> str | None:
    """The call as the debtor heard it, in the transcript format: the script, the menu and
    the key pressed (as the debtor's words), or the message left on a voicemail."""
    words = wording(row.language)
    if row.conversation is not None and status != "voicemail":
        # Our own agent's call: the conversation as it went, once its socket closed.
        record = row.conversation.get("record")
        if status != "completed" or not record:
            return None
        turns = [
            Turn(line["speaker"], line["text"])
            for line in record.get("lines") or []
            if line.get("type") == "turn"
        ]
        return render_transcript(turns).removesuffix("\n") or None
    if status == "voicemail":
        turns = [Turn("agent", f"{row.script} {words.voicemail}")]
    elif status == "completed" and (answered_time(row) is not None or row.digits):
        turns = [Turn("agent", f"{row.script} {words.menu}")]
        if row.digits in KEYPAD:
            turns += [Turn("debtor", KEYPAD[row.digits]), Turn("agent", words.thanks[row.digits])]
    else:
        return None
    return render_transcript(turns).removesuffix("\n")


def view(row: CallRow) -> ProviderCall:
    status = status_of(row)
    final = status in FINAL_STATUSES
    return ProviderCall(
        provider_call_id=row.provider_call_id or "",
        status=status,
        answered_time=answered_time(row),
        ended_time=(row.ended_time or row.heard_time) if final else None,
        duration=(row.duration or 0) if final else None,
        transcript=transcript_of(row, status) if final else None,
        from_number=row.from_number,
        cost=row.cost,
        currency=row.currency,
        error=row.error if status == "failed" else None,
        conversation=(row.conversation or {}).get("record") if final else None,
    )
