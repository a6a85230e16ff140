"""The deterministic dialogue policy: Credira's agent without an LLM (the embedded default).

It reads each of the debtor's turns with fixed cues (English and Spanish) and the transcript
rules' reading of days and times (`credira.transcript`), and acts through the same tools as a
model would, so the guard checks it the same way. A turn is read in this order: an attorney,
a request not to be called, abuse; then who is speaking (until verified); then what the
verified debtor wants (already paid, a dispute, the payment link, a plan, a promise, a
callback, goodbye). Anything that tries to change the agent's instructions is answered with
the balance as it stands.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from credira.conversation.agent import Act
from credira.conversation.guard import Guard
from credira.kit.clock import Clock
from credira.transcript import Turn, analyze


def _cue(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


ATTORNEY = _cue(r"\b(attorney|lawyer|abogad[oa]|legal counsel|represented)\b")
OPT_OUT = _cue(
    r"\b(stop calling|don'?t call|do not call|never call|remove (me|my number)|"
    r"no me (llame|llamen|vuelva)|dejen de llamar)"
)
ABUSE = _cue(r"\b(f+u+c+k\w*|shit\w*|bitch\w*|bastard\w*|idiot\w*|asshole\w*|cabr[oó]n|mierda)")
INJECTION = _cue(
    r"\b(ignore (all |your |the )?(previous |prior )?instructions|system prompt|you are now|"
    r"debt is (forgiven|cancel+ed|waived)|forgive (the|my) debt|act as|developer mode|"
    r"ignora (tus|las) instrucciones)"
)
WRONG = _cue(
    r"\b(wrong number|no one (here )?(by|with) that name|nobody (here )?(by|with) that name|"
    r"doesn'?t live here|never heard of|don'?t know (him|her|them|who)|"
    r"n[uú]mero equivocado|no conozco|no vive aqu[ií])"
)
THIRD_PARTY = _cue(
    r"\b(my (son|daughter|child|kid|husband|wife|mother|father|mom|dad)|"
    r"(he|she)'?s (not (here|home|available|in)|out|at (work|school)|only \d+|a minor|\d+)|"
    r"(he|she) is (not (here|home|available|in)|out|at (work|school)|only \d+|a minor)|"
    r"years old|is a minor|take a message|mi (hijo|hija|esposo|esposa)|no est[aá])"
)
AFFIRM = _cue(
    r"^\W*(yes|yeah|yep|speaking|that'?s me|this is (he|she|me)|it'?s me|i am|correct|"
    r"s[ií]|soy yo|al habla)\b",
    r"\b(speaking|that'?s me|this is (he|she)|it'?s me|soy yo)\b",
)
PAID = _cue(
    r"\b(already paid|paid (it|this|that|the invoice|last)|i paid|i'?ve paid|it'?s paid|"
    r"ya (lo )?pagu[eé]|ya est[aá] pagad[ao])"
)
DISPUTE = _cue(
    r"\b(don'?t owe|dispute|never (received|got|ordered)|not mine|wrong amount|"
    r"isn'?t mine|no (lo )?debo|disputo|no es m[ií]a|nunca recib[ií])"
)
LINK = _cue(r"\b(link|email (it|me)|send (it|me)|e-?mail|enlace|correo)\b")
PLAN = _cue(
    r"\b(payment plan|plan|instal+ments?|(\d+|two|three|four|five|six|twelve) "
    r"(monthly )?(payments|parts|months|instal+ments)|a plazos|cuotas|plazos)\b"
)
BYE = _cue(
    r"\b(that'?s all|nothing else|goodbye|bye|no,? thanks|no thank you|eso es todo|"
    r"adi[oó]s|nada m[aá]s)\b"
)
REFUSE = _cue(r"\b(can'?t pay|cannot pay|won'?t pay|no money|no puedo pagar|no tengo dinero)")
YES = _cue(r"^\W*(yes|yeah|ok|okay|sure|fine|that works|deal|s[ií]|vale|de acuerdo|bueno)\b")
NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "twelve": 12}
NUMBERS_ES = {"dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "doce": 12}
_SPANISH = [
    (r"\bma[nñ]ana\b", "tomorrow"),
    (r"\bpasado tomorrow\b", "in 2 days"),
    (r"\ben (\d+) d[ií]as\b", r"in \1 days"),
    (r"\bla (pr[oó]xima|que viene) semana\b", "next week"),
    (r"\b(el )?lunes\b", "on monday"),
    (r"\b(el )?martes\b", "on tuesday"),
    (r"\b(el )?mi[eé]rcoles\b", "on wednesday"),
    (r"\b(el )?jueves\b", "on thursday"),
    (r"\b(el )?viernes\b", "on friday"),
    (r"\b(el )?s[aá]bado\b", "on saturday"),
    (r"\b(el )?domingo\b", "on sunday"),
    (r"\ba las (\d+)\b", r"at \1"),
    (r"\b(ll[aá]m(e|en)me|vuelva a llamar|ll[aá]menme) ?(m[aá]s tarde|luego)?", "call me back "),
    (r"\b(pagar[eé]|puedo pagar|voy a pagar|le pago)\b", "i will pay"),
]
_AMOUNT = re.compile(r"(?<![\d/-])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?![\d/-])")

REPLIES = {
    "en": {
        "ask_pay": "Can you pay it today, or tell me when you can?",
        "paid": "Thank you. I've noted that you say it is already paid; our team will check "
        "and confirm with you. Goodbye.",
        "dispute": "I understand. I've recorded your dispute and our team will look into it. "
        "Goodbye.",
        "link_sent": "I've sent the payment link to your email address on file. Is there "
        "anything else I can help with?",
        "no_email": "I don't have an email address for you, I'm afraid. When could you pay?",
        "plan_ok": "Thank you. I've set up {n} payments of about {each}, the first on {first}. "
        "Goodbye.",
        "plan_max": "I can offer at most {n} monthly payments of about {each}, the first on "
        "{first}. Would that work for you?",
        "no_plan": "I'm afraid we can't offer a payment plan. When could you pay the full amount?",
        "promise_ok": "Thank you. I've noted your promise to pay {amount} on {day}. Goodbye.",
        "promise_counter": "I can only note a payment of {least} or more by {last}. Could you "
        "pay by then?",
        "callback_ok": "Of course. We will call you back on {at}. Goodbye.",
        "callback_ask": "We call between 8 in the morning and 9 in the evening, within two "
        "weeks. When would suit you?",
        "refuse": "I understand. Would a payment plan help, or could you pay part of it?",
        "injection": "I can't change anything about the balance on this call. The amount due "
        "is {amount_text}. When could you pay it?",
        "verify_first": "Before we go on, may I confirm I'm speaking with {customer_name}?",
    },
    "es": {
        "ask_pay": "¿Puede pagarla hoy, o decirme cuándo puede?",
        "paid": "Gracias. He anotado que dice que ya está pagada; nuestro equipo lo "
        "comprobará y se lo confirmará. Adiós.",
        "dispute": "Entiendo. He registrado su disputa y nuestro equipo la revisará. Adiós.",
        "link_sent": "Le he enviado el enlace de pago a su correo. ¿Puedo ayudarle en algo más?",
        "no_email": "No tengo su correo electrónico. ¿Cuándo podría pagar?",
        "plan_ok": "Gracias. He preparado {n} pagos de unos {each}, el primero el {first}. Adiós.",
        "plan_max": "Puedo ofrecerle como máximo {n} pagos mensuales de unos {each}, el primero "
        "el {first}. ¿Le parece bien?",
        "no_plan": "Lo siento, no podemos ofrecer un plan de pagos. ¿Cuándo podría pagar el total?",
        "promise_ok": "Gracias. He anotado su compromiso de pagar {amount} el {day}. Adiós.",
        "promise_counter": "Solo puedo anotar un pago de {least} o más antes del {last}. "
        "¿Podría pagar para entonces?",
        "callback_ok": "Por supuesto. Le llamaremos el {at}. Adiós.",
        "callback_ask": "Llamamos entre las 8 de la mañana y las 9 de la noche, en las próximas "
        "dos semanas. ¿Cuándo le viene bien?",
        "refuse": "Entiendo. ¿Le ayudaría un plan de pagos, o podría pagar una parte?",
        "injection": "No puedo cambiar nada del saldo en esta llamada. El importe pendiente es "
        "{amount_text}. ¿Cuándo podría pagarlo?",
        "verify_first": "Antes de seguir, ¿hablo con {customer_name}?",
    },
}


def _english(text: str) -> str:
    for pattern, replacement in _SPANISH:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return text


def _count(text: str) -> int | None:
    found = re.search(r"\b(\d+|" + "|".join([*NUMBERS, *NUMBERS_ES]) + r")\b", text, re.I)
    if found is None:
        return None
    word = found.group(1).lower()
    return int(word) if word.isdigit() else {**NUMBERS, **NUMBERS_ES}[word]


class ScriptedPolicy:
    """One call's deterministic policy (it keeps the conversation's stage)."""

    def __init__(self, clock: Clock) -> None:
        self.stage = "identify"
        self.unclear = 0
        self.offer: list[dict[str, str]] | None = None
        self.counter: tuple[str, str] | None = None  # (date, amount) offered back
        self._clock = clock

    async def respond(self, said: str, guard: Guard, act: Act) -> AsyncIterator[str]:
        yield self.decide(said, guard, act)

    def _say(self, guard: Guard, key: str, **values: str) -> str:
        c = guard.context
        table = REPLIES.get(c.lang, REPLIES["en"])
        return table[key].format(amount_text=c.amount_text, customer_name=c.customer_name, **values)

    def decide(self, said: str, guard: Guard, act: Act) -> str:
        w = guard.words
        if ATTORNEY.search(said):
            act("report_attorney", {"attorney": said[:120]})
            return w.closing_attorney
        if OPT_OUT.search(said):
            act("record_opt_out", {})
            return w.closing_opt_out
        if ABUSE.search(said):
            act("end_call", {"reason": "abuse"})
            return w.closing_abuse
        if not guard.verified:
            return self._identify(said, guard, act)
        return self._discuss(said, guard, act)

    def _identify(self, said: str, guard: Guard, act: Act) -> str:
        w = guard.words
        if WRONG.search(said):
            act("report_wrong_party", {"reason": "wrong number"})
            return w.closing_wrong_party
        if THIRD_PARTY.search(said):
            act("report_wrong_party", {"reason": "a third party answered"})
            return guard.fill(w.third_party)
        affirmed = AFFIRM.search(said) and not INJECTION.search(said)
        if affirmed and act("verify_identity", {"confirmed": True}).accepted:
            self.stage = "discuss"
            rest = self._discuss(said, guard, act, opening=True)
            return f"{guard.fill(w.details)} {rest}"
        self.unclear += 1
        if self.unclear >= 3:
            act("end_call", {"reason": "identity not confirmed"})
            return guard.fill(w.third_party)
        return self._say(guard, "verify_first")

    def _discuss(self, said: str, guard: Guard, act: Act, opening: bool = False) -> str:
        c, now = guard.context, self._clock.now()
        english = _english(said) if c.lang == "es" else said
        if PAID.search(said):
            act("record_dispute", {"reason": "the debtor says it is already paid"})
            act("end_call", {"reason": "already paid"})
            return self._say(guard, "paid")
        if DISPUTE.search(said):
            act("record_dispute", {"reason": said[:200]})
            act("end_call", {"reason": "dispute"})
            return self._say(guard, "dispute")
        if INJECTION.search(said):
            return self._say(guard, "injection")
        if LINK.search(said):
            if act("send_payment_link", {}).accepted:
                return self._say(guard, "link_sent")
            return self._say(guard, "no_email")
        if self.offer is not None and YES.search(said):
            return self._plan_agreed(guard, act, self.offer)
        if self.counter is not None and YES.search(said):
            day, amount = self.counter
            if act("record_promise", {"date": day, "amount": amount}).accepted:
                act("end_call", {"reason": "promise"})
                return self._say(guard, "promise_ok", amount=amount, day=day)
        self.offer = self.counter = None
        if PLAN.search(said):
            return self._plan(said, guard, act, now)
        reading = analyze(
            [Turn("debtor", english)], ended_at=now.astimezone(c.tz()), debtor_zone=c.tz()
        )
        if reading.outcome == "promise_to_pay":
            return self._promise(english, reading.promised_date, guard, act, now)
        if reading.outcome == "callback_requested":
            if reading.callback_time is None:
                return self._say(guard, "callback_ask")
            at = reading.callback_time.astimezone(c.tz())
            if act("request_callback", {"time": at.isoformat()}).accepted:
                act("end_call", {"reason": "callback"})
                return self._say(guard, "callback_ok", at=at.strftime("%Y-%m-%d %H:%M"))
            return self._say(guard, "callback_ask")
        if REFUSE.search(said):
            return self._say(guard, "refuse")
        if BYE.search(said) and not opening:
            act("end_call", {"reason": "the debtor said goodbye"})
            return guard.words.closing
        return self._say(guard, "ask_pay")

    def _promise(self, said: str, day: date | None, guard: Guard, act: Act, now: datetime) -> str:
        c = guard.context
        today = c.today(now)
        day = day or today
        amount = c.amount
        for m in _AMOUNT.finditer(said):
            value = Decimal(m.group(1).replace(",", "") + "." + (m.group(2) or "0"))
            # A number that is a day count or a time is not an amount.
            tail = said[m.end() : m.end() + 6].lower()
            if value >= 1 and not re.match(r"\s*(days?|weeks?|am|pm|o'?clock|d[ií]as)", tail):
                amount = value
                break
        result = act("record_promise", {"date": day.isoformat(), "amount": f"{amount:.2f}"})
        if result.accepted:
            act("end_call", {"reason": "promise"})
            return self._say(guard, "promise_ok", amount=f"{amount:.2f} {c.currency}", day=str(day))
        least = (c.amount * c.policy.min_promise_percent / 100).quantize(Decimal("0.01"))
        last = c.last_promise_day(now)
        self.counter = (last.isoformat(), f"{max(least, min(amount, c.amount)):.2f}")
        return self._say(guard, "promise_counter", least=f"{least} {c.currency}", last=str(last))

    def _plan(self, said: str, guard: Guard, act: Act, now: datetime) -> str:
        c, p = guard.context, guard.context.policy
        if not p.allow_plans:
            return self._say(guard, "no_plan")
        wanted = _count(said) or 3
        plan = self._instalments(guard, wanted, now)
        if wanted <= p.max_instalments and plan is not None:
            return self._plan_agreed(guard, act, plan)
        most = min(p.max_instalments, int(c.amount / p.min_instalment) or 1)
        offer = self._instalments(guard, most, now)
        if offer is None:
            return self._say(guard, "no_plan")
        self.offer = offer
        return self._say(
            guard, "plan_max", n=str(most), each=offer[0]["amount"], first=offer[0]["date"]
        )

    def _plan_agreed(self, guard: Guard, act: Act, plan: list[dict[str, str]]) -> str:
        self.offer = None
        result = act("offer_payment_plan", {"instalments": plan})
        if not result.accepted:
            return self._say(guard, "no_plan")
        act("end_call", {"reason": "payment plan"})
        return self._say(
            guard, "plan_ok", n=str(len(plan)), each=plan[0]["amount"], first=plan[0]["date"]
        )

    @staticmethod
    def _instalments(guard: Guard, n: int, now: datetime) -> list[dict[str, str]] | None:
        c, p = guard.context, guard.context.policy
        if n < 1:
            return None
        each = (c.amount / n).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        if each < p.min_instalment:
            return None
        first = min(c.today(now) + timedelta(days=7), c.last_promise_day(now))
        step = min(30, p.max_plan_days)
        plan = [
            {"date": (first + timedelta(days=step * i)).isoformat(), "amount": f"{each:.2f}"}
            for i in range(n)
        ]
        plan[-1]["amount"] = f"{c.amount - each * (n - 1):.2f}"
        return plan
