"""The agent's fixed lines, in the languages it speaks (English and Spanish); the others fall
back to English. Placeholders are ``str.format`` names filled from the call's context."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lines:
    opening: str  # the recording notice first, then who we want; nothing of the debt
    disclosure: str  # a third-party collector's, said before any detail of the debt
    details: str
    third_party: str  # a name and a callback number, nothing else
    confirm_first: str  # said instead of a reply that would name the debt before verification
    ask_again: str
    still_there: str
    closing: str
    closing_silence: str
    closing_trouble: str  # the LLM failed or was too slow
    closing_time: str  # max_duration reached
    closing_opt_out: str
    closing_attorney: str
    closing_wrong_party: str
    closing_abuse: str


LINES: dict[str, Lines] = {
    "en": Lines(
        opening="Hello, this call is recorded. My name is {agent_name}. "
        "May I speak with {customer_name}?",
        disclosure="This is a communication from a debt collector. This is an attempt to "
        "collect a debt, and any information obtained will be used for that purpose.",
        details="I'm calling on behalf of {company_name} about invoice {invoice_number} for "
        "{amount_text}, which was due on {due_date}.",
        third_party="I'm trying to reach {customer_name}. Could you ask them to call "
        "{agent_name} back at {callback_number}? Thank you, goodbye.",
        confirm_first="Before I go on, I need to know I'm speaking with {customer_name}. Is "
        "that you? If not, please ask them to call {agent_name} back at {callback_number}.",
        ask_again="Sorry, I didn't catch that. Could you say it again?",
        still_there="Are you still there?",
        closing="Thank you for your time. Goodbye.",
        closing_silence="I can't hear you, so I'll end the call now. We'll try again later. "
        "Goodbye.",
        closing_trouble="I'm sorry, we're having trouble on our side. We'll call you back "
        "later. Goodbye.",
        closing_time="I'm afraid we're out of time for this call. We'll follow up with you. "
        "Goodbye.",
        closing_opt_out="Understood. We will not call this number again. Goodbye.",
        closing_attorney="Understood. We will contact your attorney instead and not call you "
        "again. Goodbye.",
        closing_wrong_party="Sorry to have bothered you. We will update our records. Goodbye.",
        closing_abuse="I'm going to end the call now. Goodbye.",
    ),
    "es": Lines(
        opening="Hola, esta llamada se graba. Me llamo {agent_name}. "
        "¿Puedo hablar con {customer_name}?",
        disclosure="Esta es una comunicación de un cobrador de deudas. Es un intento de cobrar "
        "una deuda y cualquier información obtenida se usará con ese fin.",
        details="Llamo en nombre de {company_name} por la factura {invoice_number} de "
        "{amount_text}, que vencía el {due_date}.",
        third_party="Intento comunicarme con {customer_name}. ¿Podría pedirle que llame a "
        "{agent_name} al {callback_number}? Gracias, adiós.",
        confirm_first="Antes de seguir, necesito saber si hablo con {customer_name}. ¿Es usted? "
        "Si no, pídale que llame a {agent_name} al {callback_number}.",
        ask_again="Perdone, no le he entendido. ¿Puede repetirlo?",
        still_there="¿Sigue ahí?",
        closing="Gracias por su tiempo. Adiós.",
        closing_silence="No le oigo, así que terminaré la llamada. Volveremos a intentarlo "
        "más tarde. Adiós.",
        closing_trouble="Lo siento, tenemos un problema técnico. Le llamaremos más tarde. Adiós.",
        closing_time="Se nos ha acabado el tiempo de esta llamada. Le volveremos a contactar. "
        "Adiós.",
        closing_opt_out="Entendido. No volveremos a llamar a este número. Adiós.",
        closing_attorney="Entendido. Contactaremos con su abogado y no le llamaremos más. Adiós.",
        closing_wrong_party="Perdone la molestia. Actualizaremos nuestros datos. Adiós.",
        closing_abuse="Voy a terminar la llamada. Adiós.",
    ),
}


def lines(lang: str) -> Lines:
    return LINES.get(lang, LINES["en"])
